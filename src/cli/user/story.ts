import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { EaselJobFailedError, type DownloadedFile, type ImageFormat, type Job, type StoryRequest, type StoryResult } from '../../sdk/index.js';
import { clientOptions, CliError, eur, intArg, makeCtx, run, type ClientFlags, type Ctx } from './context.js';
import { uploadStoryboardFiles } from './inputs.js';
import { sceneProgress } from './progress.js';

interface StoryFlags extends ClientFlags {
  out: string;
  format: ImageFormat | 'all';
  pollInterval?: number;
  /** false with --no-progress. */
  progress: boolean;
}

function storyOptions(cmd: Command): Command {
  return clientOptions(cmd)
    .option('--out <dir>', 'the job\'s folder (named after the job id) is created in this directory', '.')
    .addOption(new Option('--format <format>', 'which file(s) of each scene to save').choices(['png', 'jpeg', 'webp', 'all']).default('png'))
    .addOption(new Option('--poll-interval <ms>', 'first polling interval when the server has no event stream').argParser(intArg))
    .option('--no-progress', 'no progress on stderr');
}

/**
 * Waits for a story (progress on stderr), then saves every scene and character reference into
 * `<out>/<job id>/`. Files already there whole are kept, so running it again only fetches the rest.
 * Interrupted (Ctrl-C, a lost connection): the job carries on and `easel story status <id>` resumes.
 */
async function followAndDownload(ctx: Ctx, jobId: string, o: StoryFlags): Promise<void> {
  const progress = o.progress === false ? { update: () => undefined, stop: () => undefined } : sceneProgress();
  const onSigint = () => {
    progress.stop();
    process.stderr.write(`\ninterrupted; the story carries on. Resume with: easel story status ${jobId}\n`);
    process.exit(130);
  };
  process.once('SIGINT', onSigint);
  let job: Job<StoryResult>;
  try {
    job = (await ctx.easel.waitForJob(jobId, {
      onProgress: (j) => progress.update(j),
      ...(o.pollInterval !== undefined ? { pollIntervalMs: o.pollInterval } : {}),
      maxPollIntervalMs: 3000,
    })) as Job<StoryResult>;
  } catch (e) {
    progress.stop();
    if (!(e instanceof EaselJobFailedError)) ctx.note(`resume with: easel story status ${jobId}`);
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
  progress.stop();
  if (!job.result) throw new CliError('invalid_response', `Job ${jobId} completed without a result.`);
  const dir = path.join(o.out, jobId);
  let files: DownloadedFile[];
  try {
    files = await ctx.easel.downloadAll(job, dir, { formats: o.format });
  } catch (e) {
    ctx.note(`resume with: easel story status ${jobId}`);
    throw e;
  }
  fs.writeFileSync(path.join(dir, 'job.json'), JSON.stringify(job, null, 2) + '\n');
  const r = job.result;
  if (ctx.mode === 'json') return ctx.json({ ...job, files: files.map((f) => f.path) });
  if (ctx.mode === 'pipe') return files.forEach((f) => ctx.out(f.path));
  const scenes = files.filter((f) => f.kind === 'scene').length;
  const refs = files.filter((f) => f.kind === 'character_ref').length;
  ctx.out(`✓ Story ${jobId}: ${scenes} scene file(s), ${refs} character reference(s) → ${dir}`);
  ctx.out(`  Model: ${r.model ?? '—'}  Cost: ${eur(r.cost_eur)} · Balance: ${eur(r.balance_eur)}`);
}

export function registerStoryCommands(program: Command): void {
  const story = program.command('story').description('multi-scene stories with consistent characters');

  storyOptions(
    story
      .command('run')
      .description('submit a storyboard (JSON: characters, scenes, …), show progress, download every scene and character reference')
      .argument('<storyboard>', 'storyboard JSON file (- for stdin); local reference_url files are uploaded first')
      .option('--model <id>', 'model id or alias (overrides the storyboard\'s)'),
  ).action(
    run(async (file: string, o: StoryFlags & { model?: string }) => {
      const ctx = makeCtx(o);
      let text: string;
      try {
        text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
      } catch {
        throw new CliError('file_not_found', `${file}: cannot read the storyboard.`);
      }
      let board: Record<string, unknown>;
      try {
        board = JSON.parse(text) as Record<string, unknown>;
      } catch (e) {
        throw new CliError('invalid_argument', `${file}: not valid JSON (${(e as Error).message}).`);
      }
      if (!board || typeof board !== 'object' || Array.isArray(board)) throw new CliError('invalid_argument', `${file}: a storyboard is a JSON object.`);
      if (o.model) board.model = o.model;
      await uploadStoryboardFiles(ctx.easel, board, file === '-' ? '.' : path.dirname(file));
      const { job_id } = await ctx.easel.generateStory(board as unknown as StoryRequest);
      ctx.note(`job ${job_id}`);
      await followAndDownload(ctx, job_id, o);
    }),
  );

  storyOptions(
    story
      .command('status')
      .description('resume a story: wait for it (again) and download whatever is not on disk yet')
      .argument('<job_id>', 'the story\'s job id'),
  ).action(
    run(async (jobId: string, o: StoryFlags) => {
      const ctx = makeCtx(o);
      await followAndDownload(ctx, jobId, o);
    }),
  );
}
