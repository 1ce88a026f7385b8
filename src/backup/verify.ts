import type { BlobStore } from '../blob/port.js';
import type { Reader } from '../store/reader.js';
import { accountTotals, jobLedgers } from '../billing/ledger-audit.js';
import { mapLimit } from '../util/map-limit.js';
import { jobBlobKeys } from './blob-refs.js';

/** One thing `easel verify` found wrong, named so an operator can look it up. */
export interface Problem {
  kind: 'account' | 'job' | 'upload';
  id: string;
  message: string;
}

export interface VerifySummary {
  accounts: number;
  jobs: number;
  /** Jobs whose files are still kept (not result_expired): their blobs were checked. */
  jobsWithFiles: number;
  blobsChecked: number;
  uploads: number;
  problems: number;
}

export interface VerifyOptions {
  /** Blobs checked at once (HEAD requests on S3, stat on disk). */
  concurrency?: number;
  /** Uploads older than this are due for the sweeper: a missing blob then is not a problem. */
  uploadRetentionMs: number;
  onProblem(p: Problem): void;
  /** Pages of accounts and jobs (tests use small pages to cross page boundaries). */
  pageSize?: number;
}

/**
 * Checks a deployment against itself: the ledger is exact (src/billing/ledger-audit.ts) and every
 * blob a kept job or upload points at exists in the configured store. Streams: accounts, jobs and
 * uploads are read in keyset pages, each inside one read snapshot. It runs beside a serving
 * deployment: a blob found missing is looked up again against its row, and one the retention
 * sweeper is deleting right now (the job or upload is due, or already marked) is not a problem.
 */
export async function verifyDeployment(r: Reader, blob: BlobStore, o: VerifyOptions): Promise<VerifySummary> {
  const s: VerifySummary = { accounts: 0, jobs: 0, jobsWithFiles: 0, blobsChecked: 0, uploads: 0, problems: 0 };
  const problem = (p: Problem) => {
    s.problems++;
    o.onProblem(p);
  };
  const concurrency = o.concurrency ?? 16;
  const pageSize = o.pageSize ?? 500;

  for await (const a of accountTotals(r, pageSize)) {
    s.accounts++;
    if (a.available !== a.ledgerAvailable) problem({ kind: 'account', id: a.id, message: `available_micros is ${a.available} but its ledger rows sum to ${a.ledgerAvailable}` });
    if (a.held !== a.ledgerHeld) problem({ kind: 'account', id: a.id, message: `held_micros is ${a.held} but its ledger rows sum to ${a.ledgerHeld}` });
  }

  // Jobs, one page at a time: the money verdicts come with the page; the page's blobs are checked before the next is read.
  let page: { id: string; row: Record<string, unknown> }[] = [];
  const flush = async () => {
    const kept = page.filter((j) => j.row.result_expired_at == null);
    page = [];
    if (kept.length === 0) return;
    s.jobsWithFiles += kept.length;
    const steps = new Map<string, unknown[]>();
    const ids = kept.map((j) => j.id);
    const rows = await r.query(`select job_id, output_json from job_steps where job_id in (${ids.map((_, i) => `$${i + 1}`).join(',')})`, ids);
    for (const x of rows) steps.set(String(x.job_id), [...(steps.get(String(x.job_id)) ?? []), x.output_json]);
    const checks = kept.flatMap((j) => jobBlobKeys(j.row as { request_json: unknown; result_json: unknown }, steps.get(j.id) ?? []).map((key) => ({ id: j.id, key })));
    const missing = (await mapLimit(checks, concurrency, async (c) => ((await blob.exists(c.key)) ? null : c))).filter((c) => c !== null);
    s.blobsChecked += checks.length;
    for (const c of missing) {
      // Swept meanwhile? The sweeper deletes the files first and marks the job after.
      const [now] = await r.query('select result_expired_at, result_expires_at from jobs where id = $1', [c.id]);
      if (!now || now.result_expired_at != null || (now.result_expires_at != null && Number(now.result_expires_at) <= Date.now())) continue;
      problem({ kind: 'job', id: c.id, message: `blob ${c.key} is missing` });
    }
  };
  for await (const j of jobLedgers(r, { pageSize, columns: ['request_json', 'result_json', 'result_expired_at'] })) {
    s.jobs++;
    if (j.unbalanced) problem({ kind: 'job', id: j.id, message: `ended, but its hold rows net to ${j.heldNet}, not 0 (account ${j.accountId})` });
    if (j.chargeMismatch) problem({ kind: 'job', id: j.id, message: `charged_micros is ${Number(j.row.charged_micros)} but its capture rows took ${j.captured} (account ${j.accountId})` });
    page.push(j);
    if (page.length >= pageSize) await flush();
  }
  await flush();

  let after = '';
  for (;;) {
    const ups = await r.query('select id, key from uploads where blob_deleted_at is null and id > $1 order by id limit $2', [after, pageSize]);
    s.uploads += ups.length;
    const missing = (await mapLimit(ups, concurrency, async (u) => ((await blob.exists(String(u.key))) ? null : u))).filter((u) => u !== null);
    s.blobsChecked += ups.length;
    for (const u of missing) {
      const [now] = await r.query('select blob_deleted_at, created_at from uploads where id = $1', [u.id]);
      if (!now || now.blob_deleted_at != null || Number(now.created_at) <= Date.now() - o.uploadRetentionMs) continue;
      problem({ kind: 'upload', id: String(u.id), message: `blob ${String(u.key)} is missing` });
    }
    if (ups.length < pageSize) break;
    after = String(ups[ups.length - 1]!.id);
  }
  return s;
}
