/**
 * After `bench/scale.ts` ran in each mode: merges its rows into bench/results.json (rows of other
 * benches are kept; each row `{id, mode, value, unit, anchor, ratio, target, met, stored}`) and
 * rewrites the scale table of docs/BENCHMARKS.md between its markers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeResults, RESULTS_FILE as RESULTS } from '../lib/results.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const REPORT = path.join(ROOT, 'docs', 'BENCHMARKS.md');
const BEGIN = '<!-- scale:begin (bench/scale/report.ts writes this part) -->';
const END = '<!-- scale:end -->';

interface ScaleRow { id: string; mode: string; stored: number; value: number; unit: string; anchor: number; anchor_stored: number; ratio: number | null; target: string; met: boolean | null; p95: Record<string, number> }
interface ScaleRun { mode: string; startedAt: string; loadAvg: number[]; small: number; large: number; seedSeconds: { small: number; large: number }; rows: ScaleRow[] }

const TITLES: Record<string, string> = {
  poll_pending: 'poll a waiting job (queue_position, ETA)',
  poll_completed: 'poll a completed job',
  list_first: 'GET /v1/jobs, first page',
  list_page100: 'GET /v1/jobs, 100th page by offset',
  list_page100_cursor: 'GET /v1/jobs, 100th page by cursor',
  list_status_first: 'status filter, first page',
  list_status_page100: 'status filter, 100th page (offset)',
  list_operation_first: 'operation filter, first page',
  list_operation_page100: 'operation filter, 100th page (offset)',
  list_metadata_first: 'metadata filter, first page',
  list_metadata_page100: 'metadata filter, 100th page (offset)',
  ledger_first: 'GET /v1/account/ledger, first page',
  ledger_page100: 'ledger, 100th page (offset)',
  profile_usage: 'GET /v1/account/profile (usage)',
  metrics: '/metrics scrape (cold: past its 5 s cache)',
  claim: 'claim (queue, fair order)',
  'heavy.list_first': 'heavy tenant: GET /v1/jobs, first page',
  'heavy.list_status_first': 'heavy tenant: status filter, first page',
  'heavy.list_page30_cursor': 'heavy tenant: 30th page by cursor',
  'heavy.ledger_first': 'heavy tenant: ledger, first page',
  'heavy.profile_usage': 'heavy tenant: profile (usage)',
  migration: 'migrations 0018 + 0019 (summaries back-filled over every row; the sweep index built)',
  db_bytes_per_job: 'database bytes per stored job (rows, events, ledger, indexes)',
};

const runs: ScaleRun[] = ['embedded', 'scaleout']
  .map((m) => path.join(ROOT, 'test-artifacts', `scale-${m}.json`))
  .filter((f) => fs.existsSync(f))
  .map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as ScaleRun);
if (runs.length === 0) throw new Error('no test-artifacts/scale-<mode>.json: run bench/scale.ts first');

mergeResults(runs.flatMap((r) => r.rows.map(({ p95: _p, anchor_stored: _a, ...row }) => row)));

const fmt = (r: ScaleRow, v: number) => (r.unit === 'ms' ? `${v.toFixed(2)} ms` : r.unit === 'bytes' ? `${Math.round(v)} B` : `${v}`);
const sections = runs.map((run) => {
  const lines = [
    `#### ${run.mode === 'embedded' ? 'Embedded (SQLite, local disk)' : 'Scale-out (PostgreSQL, S3 on Swift)'} — ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC, load ${run.loadAvg.map((l) => l.toFixed(1)).join(' / ')}`,
    '',
    `Seeded ${run.small.toLocaleString('en')} jobs in ${run.seedSeconds.small.toFixed(0)} s, then up to ${run.large.toLocaleString('en')} in ${run.seedSeconds.large.toFixed(0)} s more.`,
    '',
    `| measurement | at ${run.small.toLocaleString('en')} (anchor) | at ${run.large.toLocaleString('en')} | ratio | p95 small → large | target | result |`,
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of run.rows) {
    const key = r.id.replace(/^scale\./, '');
    const p95 = Object.values(r.p95 ?? {});
    lines.push(
      `| ${TITLES[key] ?? key} | ${r.anchor ? fmt(r, r.anchor) : '—'} | ${fmt(r, r.value)} | ${r.ratio == null ? '—' : r.ratio.toFixed(2)} | ${p95.length === 2 ? `${p95[0]!.toFixed(1)} → ${p95[1]!.toFixed(1)} ms` : '—'} | ${r.target} | ${r.met == null ? 'reported' : r.met ? 'met' : '**not met**'} |`,
    );
  }
  return lines.join('\n');
});

const block = `${BEGIN}\n${sections.join('\n\n')}\n${END}`;
const doc = fs.readFileSync(REPORT, 'utf8');
const i = doc.indexOf(BEGIN);
const j = doc.indexOf(END);
fs.writeFileSync(REPORT, i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + END.length) : `${doc.trimEnd()}\n\n## A million jobs (\`npm run bench:scale\`)\n\n${block}\n`);
console.log(`wrote ${path.relative(ROOT, RESULTS)} and the scale table of ${path.relative(ROOT, REPORT)}`);
