import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { displayStatus, EaselApiError, EaselJobFailedError, TERMINAL_STATUSES, type BatchItemStatus, type BatchJob, type BatchOptions, type ImageFormat } from '../../sdk/index.js';
import { clientOptions, CliError, eur, intArg, makeCtx, run, type ClientFlags, type Ctx } from './context.js';
import { fingerprint, readRecord, RECORD_FILE, writeRecord, type BatchRecord } from './batch-dir.js';
import { followBatch, shown, type FollowOutcome } from './batch-follow.js';
import { batchProgress, itemsEnded } from './batch-progress.js';

interface FollowFlags extends ClientFlags {
  format: ImageFormat | 'all';
  pollInterval: number;
}
interface RunFlags extends FollowFlags {
  out: string;
  operation: string;
  model?: string;
  defaults?: string;
  maxCost?: string;
  priority?: 'low' | 'normal' | 'high';
  metadata?: string;
}

const ITEM_STATUSES = ['pending', 'processing', 'completed', 'failed', 'canceled'];

function followOptions(cmd: Command): Command {
  return clientOptions(cmd)
    .addOption(new Option('--format <format>', "which file(s) of each item to save (a processing batch's items have one)").choices(['png', 'jpeg', 'webp', 'all']).default('png'))
    .addOption(new Option('--poll-interval <ms>', 'how often the batch is read while it runs').argParser(intArg).default(1000));
}

function jsonObject(flag: string, text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CliError('invalid_argument', `${flag}: not valid JSON (${(e as Error).message}).`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new CliError('invalid_argument', `${flag}: expected a JSON object.`);
  return v as Record<string, unknown>;
}

/** The batch's fields from the flags; --model is a default, so an item naming its own model keeps it. */
function batchOptions(o: RunFlags): BatchOptions {
  const defaults = { ...jsonObject('--defaults', o.defaults), ...(o.model ? { model: o.model } : {}) };
  const metadata = jsonObject('--metadata', o.metadata) as Record<string, string> | undefined;
  return {
    operation: o.operation,
    ...(Object.keys(defaults).length ? { defaults } : {}),
    ...(metadata ? { metadata } : {}),
    ...(o.maxCost !== undefined ? { max_cost_eur: o.maxCost } : {}),
    ...(o.priority ? { priority: o.priority } : {}),
  };
}

/** A refused batch names each refused item and field; print them under the one-line error (at most 20). */
function noteRefusal(ctx: Ctx, e: unknown): void {
  if (!(e instanceof EaselApiError) || !e.details) return;
  const items = Array.isArray(e.details.items) ? (e.details.items as { index: number; error: string; message: string }[]) : [];
  const fields = Array.isArray(e.details.fields) ? (e.details.fields as { path: string; message: string }[]) : [];
  const lines = items.length ? items.map((i) => `  item ${i.index}: ${i.error}: ${i.message}`) : fields.map((f) => `  ${f.path}: ${f.message}`);
  for (const l of lines.slice(0, 20)) ctx.note(l);
  if (lines.length > 20) ctx.note(`  … and ${lines.length - 20} more`);
}

/**
 * Sends the batch, or finds the one this directory already holds: a re-run with the same file and
 * options resumes it; a run whose answer was lost (killed between sending and recording) sends it
 * again with the same Idempotency-Key, which the server answers with the batch it created.
 */
async function submitOrResume(ctx: Ctx, file: string, o: RunFlags): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = file === '-' ? fs.readFileSync(0) : fs.readFileSync(file);
  } catch {
    throw new CliError('file_not_found', `${file}: cannot read the items file.`);
  }
  const options = batchOptions(o);
  const fp = fingerprint(bytes, options);
  const prior = readRecord(o.out);
  if (prior && prior.fingerprint !== fp) {
    const which = prior.batch_id ? `batch ${prior.batch_id}` : 'another batch';
    throw new CliError('batch_dir_in_use', `${path.join(o.out, RECORD_FILE)} records ${which} of another items file or other options; choose another --out${prior.batch_id ? `, or resume it with: easel batch status ${prior.batch_id} --out ${o.out} --watch` : ''}.`);
  }
  if (prior?.batch_id) {
    ctx.note(`batch ${prior.batch_id}: resuming (recorded in ${path.join(o.out, RECORD_FILE)})`);
    return prior.batch_id;
  }
  const rec: BatchRecord = prior ?? { idempotency_key: crypto.randomUUID(), fingerprint: fp, source: path.resolve(file), operation: options.operation, base_url: ctx.baseUrl, recorded_at: new Date().toISOString() };
  writeRecord(o.out, rec);
  let accepted;
  try {
    accepted = await ctx.easel.createBatchFromJsonl(bytes, options, { idempotencyKey: rec.idempotency_key! });
  } catch (e) {
    // Refused (4xx): nothing was created, so nothing is recorded. Otherwise the answer may have
    // been lost after the batch was made: keep the key for the re-run.
    if (e instanceof EaselApiError && e.status < 500) fs.rmSync(path.join(o.out, RECORD_FILE), { force: true });
    noteRefusal(ctx, e);
    throw e;
  }
  writeRecord(o.out, { ...rec, batch_id: accepted.job_id, items_total: accepted.items_total, price_eur: accepted.price_eur, recorded_at: new Date().toISOString() });
  ctx.note(`batch ${accepted.job_id}: ${accepted.items_total} item(s), ${eur(accepted.price_eur)} held`);
  return accepted.job_id;
}

/** Follows the batch to its end with the progress bar, saving into --out; Ctrl-C leaves it running. */
async function followToEnd(ctx: Ctx, id: string, out: string | undefined, o: FollowFlags): Promise<FollowOutcome> {
  const resume = `easel batch status ${id}${out ? ` --out ${out}` : ''} --watch`;
  const progress = batchProgress();
  const onSigint = () => {
    progress.stop();
    process.stderr.write(`\ninterrupted; the batch carries on. Resume with: ${resume}\n`);
    process.exit(130);
  };
  process.once('SIGINT', onSigint);
  try {
    return await followBatch(ctx, id, {
      ...(out ? { out } : {}),
      watch: true,
      progress,
      format: o.format,
      pollIntervalMs: o.pollInterval,
      ...(ctx.mode === 'pipe' ? { onSaved: (f: string) => ctx.out(f) } : {}),
    });
  } catch (e) {
    ctx.note(`resume with: ${resume}`);
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function showCounts(ctx: Ctx, j: BatchJob): void {
  const b = j.batch;
  const rows: [string, string | null | undefined][] = [
    ['batch', j.job_id],
    ['status', displayStatus(j)],
    ['operation', b?.operation],
    ['items', b ? `${itemsEnded(j)}/${b.items_total} ended: ${b.items_completed} completed, ${b.items_failed} failed, ${b.items_canceled} canceled, ${b.items_running} running, ${b.items_pending} pending` : undefined],
    ['cost', j.cost ? `held ${eur(j.cost.held_eur)} · charged ${eur(j.cost.charged_eur)} · refunded ${eur(j.cost.refunded_eur)}` : undefined],
    ['created', j.created_at],
    ['completed', j.completed_at],
    ['error', j.error ? `${j.error.code}: ${j.error.message}` : undefined],
  ];
  for (const [k, v] of rows) if (v !== undefined && v !== null) ctx.out(`${k.padEnd(10)} ${v}`);
}

/** The end of a followed batch: its report, then a failed or canceled batch is an error (exit non-zero). */
function finish(ctx: Ctx, r: FollowOutcome, out: string | undefined, waited: boolean): void {
  if (out) {
    const rec = readRecord(out);
    if (rec) writeRecord(out, { ...rec, status: displayStatus(r.job) });
  }
  if (ctx.mode === 'json') ctx.json({ ...r.job, ...(out ? { files: r.files, downloaded: r.downloaded, results_file: r.results ?? null } : {}) });
  else if (ctx.mode === 'pipe') {
    if (!out) ctx.out(`${r.job.job_id}\t${displayStatus(r.job)}\t${itemsEnded(r.job)}/${r.job.batch?.items_total ?? r.job.scenes_total}\t${(r.job.batch?.items_failed ?? 0) + (r.job.batch?.items_canceled ?? 0)}`);
  } else if (waited && out) {
    const b = r.job.batch;
    ctx.out(`${r.job.status === 'completed' ? '✓' : '✗'} Batch ${r.job.job_id} ${displayStatus(r.job)}: ${b?.items_completed ?? 0} of ${b?.items_total ?? 0} item(s) completed, ${b?.items_failed ?? 0} failed, ${b?.items_canceled ?? 0} canceled → ${shown(out)} (${r.files.length} file(s), ${r.downloaded} downloaded now)`);
    if (r.job.cost) ctx.out(`  Cost: ${eur(r.job.cost.charged_eur)} charged, ${eur(r.job.cost.refunded_eur)} refunded${r.results ? ` · ${shown(r.results)}` : ''}`);
  } else {
    showCounts(ctx, r.job);
    if (out) ctx.out(`${'saved'.padEnd(10)} ${r.files.length} file(s) in ${shown(out)} (${r.downloaded} downloaded now)`);
  }
  if (waited && r.job.status === 'failed') throw new EaselJobFailedError(r.job);
}

export function registerBatchCommands(program: Command): void {
  const batch = program.command('batch').description('many generations of one operation as one job: run a JSONL file, follow it, fetch its images');

  followOptions(
    batch
      .command('run')
      .description('submit a JSONL file (one create body a line) as a batch, show progress, save each completed item as DIR/NNNN.png as it completes, then DIR/results.jsonl; a re-run with the same file and DIR resumes')
      .argument('<items.jsonl>', 'the items: one JSON create body a line (- for stdin)')
      .requiredOption('--out <dir>', 'directory for the images, results.jsonl and batch.json (the batch id, for resuming)')
      .option('--operation <op>', 'what every item runs: image, graphic, diagram, edit_image, combine_image, process_resize, …', 'image')
      .option('--model <id>', "model id or alias for items that do not name one (sets defaults.model)")
      .option('--defaults <json>', 'a JSON object of fields every item gets unless it sets them (e.g. \'{"aspect_ratio":"16:9"}\')')
      .option('--max-cost <eur>', 'refuse the batch (422, nothing charged) if its price is higher')
      .addOption(new Option('--priority <p>', "among your own waiting jobs").choices(['low', 'normal', 'high']))
      .option('--metadata <json>', 'a JSON object of string pairs stored on the batch'),
  ).action(
    run(async (file: string, o: RunFlags) => {
      const ctx = makeCtx(o);
      const id = await submitOrResume(ctx, file, o);
      finish(ctx, await followToEnd(ctx, id, o.out, o), o.out, true);
    }),
  );

  followOptions(
    batch
      .command('status')
      .description("a batch's counts; --out DIR saves whatever completed item is not in DIR yet, --watch follows it to its end")
      .argument('<batch_id>')
      .option('--out <dir>', 'save completed items here (DIR/NNNN.png; results.jsonl once the batch has ended)')
      .option('--watch', 'follow the batch until it ends, with a progress bar; exit non-zero if it failed or was canceled'),
  ).action(
    run(async (id: string, o: FollowFlags & { out?: string; watch?: boolean }) => {
      const ctx = makeCtx(o);
      if (o.out) {
        const rec = readRecord(o.out);
        if (rec?.batch_id && rec.batch_id !== id) throw new CliError('batch_dir_in_use', `${path.join(o.out, RECORD_FILE)} records batch ${rec.batch_id}, not ${id}; choose another --out.`);
        if (!rec?.batch_id) writeRecord(o.out, { ...rec, batch_id: id, base_url: ctx.baseUrl, recorded_at: new Date().toISOString() });
      }
      const r = o.watch
        ? await followToEnd(ctx, id, o.out, o)
        : await followBatch(ctx, id, { ...(o.out ? { out: o.out } : {}), watch: false, format: o.format, pollIntervalMs: o.pollInterval, ...(ctx.mode === 'pipe' && o.out ? { onSaved: (f: string) => ctx.out(f) } : {}) });
      finish(ctx, r, o.out, o.watch === true);
    }),
  );

  clientOptions(batch.command('cancel').description('cancel a batch: ended items are kept, waiting ones canceled and released, running ones finish uncharged').argument('<batch_id>')).action(
    run(async (id: string, o: ClientFlags) => {
      const ctx = makeCtx(o);
      const j = await ctx.easel.cancelBatch(id);
      if (ctx.mode === 'json') return ctx.json(j);
      if (ctx.mode === 'pipe') return ctx.out(`${j.job_id}\t${displayStatus(j)}`);
      const b = j.batch;
      if (TERMINAL_STATUSES.includes(j.status)) ctx.out(`✓ Batch ${j.job_id} ${displayStatus(j)}: ${b?.items_completed ?? 0} completed item(s) kept, ${b?.items_canceled ?? 0} canceled`);
      else ctx.out(`Cancel requested for batch ${j.job_id}: ${b?.items_running ?? 0} running item(s) finish uncharged, the waiting ones are canceled`);
    }),
  );

  clientOptions(
    batch
      .command('items')
      .description("a batch's items: index, status, error code, job id")
      .argument('<batch_id>')
      .option('--status <list>', `only these (comma list of ${ITEM_STATUSES.join(', ')}; failed includes canceled)`)
      .addOption(new Option('--limit <n>', 'at most this many (default: all)').argParser(intArg))
      .addOption(new Option('--offset <n>', 'skip this many').argParser(intArg).default(0)),
  ).action(
    run(async (id: string, o: ClientFlags & { status?: string; limit?: number; offset: number }) => {
      const ctx = makeCtx(o);
      const status = o.status?.split(',').map((s) => s.trim()) as BatchItemStatus[] | undefined;
      const bad = status?.find((s) => !ITEM_STATUSES.includes(s));
      if (bad) throw new CliError('invalid_argument', `--status: "${bad}" is not one of ${ITEM_STATUSES.join(', ')}.`);
      const items = [];
      let total = 0;
      for await (const page of ctx.easel.batchItemPages(id, { ...(status ? { status } : {}), offset: o.offset, limit: Math.min(500, o.limit ?? 500) })) {
        total = page.total;
        items.push(...page.items);
        if (o.limit !== undefined && items.length >= o.limit) break;
      }
      const shownItems = o.limit !== undefined ? items.slice(0, o.limit) : items;
      if (ctx.mode === 'json') return ctx.json({ items: shownItems, total });
      for (const i of shownItems) {
        const cols = [String(i.index).padStart(5), displayStatus(i).padEnd(10), (i.error?.code ?? '—').padEnd(22), i.job_id];
        ctx.out(ctx.mode === 'pipe' ? [i.index, displayStatus(i), i.error?.code ?? '', i.job_id].join('\t') : cols.join('  '));
      }
      if (ctx.mode === 'human') ctx.out(`${shownItems.length} of ${total} item(s)`);
    }),
  );
}
