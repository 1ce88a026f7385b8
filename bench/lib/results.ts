/**
 * bench/results.json: one object per row and mode, `{id, mode, value, unit, anchor, ratio, target,
 * met}` (plus `stored` for the scale rows), so a regression is one comparison away. Each bench
 * replaces its own rows (same id and mode) and keeps every other bench's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'results.json');

export interface ResultRow {
  id: string;
  mode: 'embedded' | 'scaleout' | string;
  value: number;
  unit: string;
  anchor: number | null;
  ratio: number | null;
  target: string;
  met: boolean | null;
  stored?: number;
  /** Written by a smoke run (about 1 s per phase): present to prove the row exists, its numbers meaningless. */
  smoke?: boolean;
}

export function mergeResults(rows: ResultRow[], file = RESULTS_FILE): void {
  const old: ResultRow[] = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : [];
  const keep = old.filter((o) => !rows.some((r) => r.id === o.id && r.mode === o.mode));
  fs.writeFileSync(file, JSON.stringify([...keep, ...rows], null, 2) + '\n');
}
