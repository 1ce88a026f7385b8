import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { BatchItem } from '../../sdk/index.js';
import { CliError } from './context.js';

/**
 * A batch's output directory: DIR/batch.json records which batch it holds (so a re-run resumes
 * instead of submitting, and paying for, the batch again), DIR/NNNN.<ext> is item NNNN's image,
 * DIR/results.jsonl every item once the batch has ended. Every file is written beside and renamed,
 * so a killed CLI leaves whole files or none.
 */
export interface BatchRecord {
  /** Absent between sending the batch and reading the answer: a re-run sends it again with the same key. */
  batch_id?: string;
  /** The Idempotency-Key of the create, so a re-send answers the batch created first (within the server's 24 h). */
  idempotency_key?: string;
  /** SHA-256 of the items file and the options: another file or other options is another batch. */
  fingerprint?: string;
  source?: string;
  operation?: string;
  items_total?: number;
  price_eur?: string;
  base_url: string;
  recorded_at: string;
  /** The batch's status when this CLI last looked (completed, failed, canceled, or still running). */
  status?: string;
}

export const RECORD_FILE = 'batch.json';
export const RESULTS_FILE = 'results.jsonl';

function writeAtomic(file: string, text: string): void {
  const part = `${file}.${process.pid}.part`;
  fs.writeFileSync(part, text);
  fs.renameSync(part, file);
}

export function readRecord(dir: string): BatchRecord | null {
  const file = path.join(dir, RECORD_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const rec = JSON.parse(text) as BatchRecord;
    if (rec && typeof rec === 'object' && (rec.batch_id === undefined || typeof rec.batch_id === 'string')) return rec;
  } catch {
    /* reported below */
  }
  throw new CliError('invalid_argument', `${file} is not a batch record; remove it or choose another --out.`);
}

export function writeRecord(dir: string, rec: BatchRecord): void {
  fs.mkdirSync(dir, { recursive: true });
  writeAtomic(path.join(dir, RECORD_FILE), JSON.stringify(rec, null, 2) + '\n');
}

/** What makes a submission the same batch: the items file's bytes and every option sent with it. */
export function fingerprint(items: Buffer, options: object): string {
  return crypto.createHash('sha256').update(items).update('\0').update(JSON.stringify(options)).digest('hex');
}

/** Item 7 of 12 → "0007": at least four digits, more when the batch needs them, so names sort by index. */
export function itemStem(index: number, total: number): string {
  return String(index).padStart(Math.max(4, String(Math.max(total - 1, 0)).length), '0');
}

/**
 * Removes `*.part` files a killed CLI left behind (their writer's pid is in the name). A part
 * whose writer still runs is another CLI's download in progress, and stays.
 */
export function removeStaleParts(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /\.(\d+)\.part$/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EPERM') continue;
    }
    fs.rmSync(path.join(dir, name), { force: true });
  }
}

/**
 * DIR/results.jsonl: every item as the server's results.jsonl gives it, in index order, plus
 * `files`, the names in DIR of the item's saved image(s), for the items that have them.
 */
export function writeResults(dir: string, items: BatchItem[], files: ReadonlyMap<number, string[]>): string {
  const file = path.join(dir, RESULTS_FILE);
  const lines = items.map((item) => {
    const saved = files.get(item.index);
    return JSON.stringify(saved ? { ...item, files: saved.map((p) => path.basename(p)) } : item);
  });
  writeAtomic(file, lines.length ? lines.join('\n') + '\n' : '');
  return file;
}
