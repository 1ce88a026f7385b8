import { Option, type Command } from 'commander';
import { displayStatus, type Job } from '../../sdk/index.js';
import { clientOptions, intArg, makeCtx, run, type ClientFlags, type Ctx } from './context.js';

function progress(j: Job): string {
  return j.scenes_total > 1 || j.operation === 'story' ? `${j.scenes_completed}/${j.scenes_total}` : '';
}

function showJob(ctx: Ctx, j: Job): void {
  if (ctx.mode === 'json') return ctx.json(j);
  if (ctx.mode === 'pipe') return ctx.out(`${j.job_id}\t${displayStatus(j)}`);
  const rows: [string, string | null | undefined][] = [
    ['job', j.job_id],
    ['operation', j.operation],
    ['prompt', j.prompt],
    ['status', displayStatus(j)],
    ['model', j.model],
    ['created', j.created_at],
    ['started', j.started_at],
    ['completed', j.completed_at],
    ['progress', progress(j) || undefined],
    ['phase', j.phase === 'portraits' ? `drawing character portraits ${j.portraits_completed}/${j.portraits_total}` : undefined],
    ['error', j.error ? `${j.error.code}: ${j.error.message}` : undefined],
  ];
  for (const [k, v] of rows) if (v !== undefined && v !== null) ctx.out(`${k.padEnd(10)} ${v}`);
  if (j.result) ctx.out(`${'result'.padEnd(10)} available (easel ${j.operation === 'story' ? 'story status' : 'jobs show --json'} ${j.job_id})`);
}

export function registerJobCommands(program: Command): void {
  const jobs = program.command('jobs').description('your jobs (every generation and processing operation is one)');

  clientOptions(
    jobs
      .command('list')
      .description('recent jobs, newest first')
      .addOption(new Option('--limit <n>', '1–100').argParser(intArg).default(20))
      .addOption(new Option('--offset <n>', 'skip this many').argParser(intArg).default(0))
      .addOption(new Option('--starting-after <job_id>', 'the page after this job (the "next:" of the previous page); not with --offset')),
  ).action(
    run(async (o: ClientFlags & { limit: number; offset: number; startingAfter?: string }) => {
      const ctx = makeCtx(o);
      // Both go to the server as given: a cursor with a non-zero offset is its 400, not silently one of them.
      const list = await ctx.easel.listJobs({ limit: o.limit, offset: o.offset, ...(o.startingAfter ? { starting_after: o.startingAfter } : {}) });
      if (ctx.mode === 'json') return ctx.json(list);
      for (const j of list.generations) {
        const prompt = j.prompt ? (j.prompt.length > 48 ? `${j.prompt.slice(0, 47)}…` : j.prompt) : '';
        const cols = [j.job_id, j.operation.padEnd(10), displayStatus(j).padEnd(10), j.created_at, progress(j).padEnd(5), prompt];
        ctx.out(ctx.mode === 'pipe' ? cols.map((c) => c.trim()).join('\t') : cols.join('  ').trimEnd());
      }
      if (ctx.mode === 'human') {
        ctx.out(`${list.generations.length} of ${list.total} job(s)`);
        // The cursor of the next page: stable however many jobs are created meanwhile.
        if (list.next_cursor) ctx.out(`next: easel jobs list --starting-after ${list.next_cursor}`);
      }
    }),
  );

  clientOptions(jobs.command('show').alias('get').description('one job: status, progress, result or error').argument('<job_id>')).action(
    run(async (id: string, o: ClientFlags) => {
      const ctx = makeCtx(o);
      showJob(ctx, await ctx.easel.getJob(id));
    }),
  );

  clientOptions(jobs.command('cancel').description('cancel a pending or running job').argument('<job_id>')).action(
    run(async (id: string, o: ClientFlags) => {
      const ctx = makeCtx(o);
      showJob(ctx, await ctx.easel.cancelJob(id));
    }),
  );
}
