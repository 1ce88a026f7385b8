import path from 'node:path';
import { Argument, Option, type Command } from 'commander';
import { DIAGRAM_TYPES, type CreateOptions, type DownloadedFile, type EditKind, type GenerationResponse, type ImageFormat } from '../../sdk/index.js';
import { ASPECT_RATIOS, IMAGE_SIZES } from '../../contract/dimensions.js';
import { clientOptions, CliError, eur, intArg, makeCtx, run, stamp, type ClientFlags, type Ctx } from './context.js';
import { resolveImage, resolveReferences } from './inputs.js';
import { stepProgress } from './step-progress.js';

const KINDS = ['image', 'graphic', 'diagram'] as const;

export interface GenFlags extends ClientFlags {
  aspectRatio?: string;
  size?: string;
  imageSize?: string;
  model?: string;
  reference: string[];
  strictness?: 'normal' | 'liberal';
  seed?: number;
  out: string;
  format: ImageFormat | 'all';
  /** false with --no-progress. */
  progress: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** The options of every generating command (image, graphic, diagram, edit, combine). */
export function generationOptions(cmd: Command): Command {
  return clientOptions(cmd)
    .addOption(new Option('--aspect-ratio <ratio>', 'aspect ratio').choices(ASPECT_RATIOS))
    .addOption(new Option('--size <ratio>', 'the same as --aspect-ratio (the public CLI\'s name)').choices(ASPECT_RATIOS))
    .addOption(new Option('--image-size <size>', 'long side: 1K, 2K or 4K').choices(IMAGE_SIZES))
    .option('--model <id>', 'model id or alias (default: chosen by the server)')
    .option('--reference <file:"description">', 'a reference image (file or URL) and what it shows; repeat up to 5 times; files are uploaded first', collect, [] as string[])
    .addOption(new Option('--strictness <mode>', 'moderation strictness for this request').choices(['normal', 'liberal']))
    .addOption(new Option('--seed <n>', 'fix the seed (Easel)').argParser(intArg))
    .option('--out <dir>', 'directory for the downloaded files', '.')
    .addOption(new Option('--format <format>', 'which file(s) to save').choices(['png', 'jpeg', 'webp', 'all']).default('png'))
    .option('--no-progress', 'no progress on stderr: wait for the answer in one request');
}

/**
 * Runs a create while showing its job's progress on stderr (a bar in a terminal, a line per stage
 * or quarter otherwise): the SDK submits with `Prefer: wait=0` and follows the job. Ctrl-C stops
 * watching, not the job. With --no-progress, one request that waits for the picture, as before.
 */
export async function withProgress(o: GenFlags, create: (opts: CreateOptions) => Promise<GenerationResponse>): Promise<GenerationResponse> {
  if (o.progress === false) return create({});
  const bar = stepProgress();
  let jobId: string | undefined;
  const onSigint = () => {
    bar.stop();
    process.stderr.write(jobId ? `\ninterrupted; the job carries on. See it with: easel jobs show ${jobId}\n` : '\ninterrupted\n');
    process.exit(130);
  };
  process.once('SIGINT', onSigint);
  try {
    return await create({
      onProgress: (job) => {
        jobId = job.job_id;
        bar.update(job);
      },
    });
  } finally {
    process.off('SIGINT', onSigint);
    bar.stop();
  }
}

/** The request fields every generating command shares. */
export async function commonFields(ctx: Ctx, o: GenFlags) {
  if (o.aspectRatio && o.size && o.aspectRatio !== o.size) throw new CliError('invalid_argument', '--aspect-ratio and --size disagree; give one.');
  const ratio = (o.aspectRatio ?? o.size) as GenerationFields['aspect_ratio'];
  const refs = await resolveReferences(ctx.easel, o.reference);
  const fields: GenerationFields = {
    ...(ratio ? { aspect_ratio: ratio } : {}),
    ...(o.imageSize ? { image_size: o.imageSize as GenerationFields['image_size'] } : {}),
    ...(o.model ? { model: o.model } : {}),
    ...(refs ? { reference_images: refs } : {}),
    ...(o.strictness ? { strictness: o.strictness } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
  };
  return fields;
}
type GenerationFields = Omit<Parameters<Ctx['easel']['generateImage']>[0], 'prompt'>;

/** Downloads a generation and reports it in the chosen output mode. */
export async function saveAndReport(ctx: Ctx, kind: string, r: GenerationResponse, o: GenFlags): Promise<void> {
  const files = await ctx.easel.downloadAll(r, o.out, { formats: o.format, name: stamp(kind, r.id) });
  report(ctx, r, files);
}

function report(ctx: Ctx, r: GenerationResponse, files: DownloadedFile[]): void {
  if (ctx.mode === 'json') return ctx.json({ ...r, files: files.map((f) => f.path) });
  if (ctx.mode === 'pipe') return files.forEach((f) => ctx.out(f.path));
  ctx.out(`✓ Generated: ${files.map((f) => path.relative('.', f.path) || f.path).join(', ')}  Model: ${r.model ?? '—'}  Cost: ${eur(r.cost_eur)} · Balance: ${eur(r.balance_eur)}`);
}

export function registerGenerateCommands(program: Command): void {
  generationOptions(program.command('image').description('generate an image from a prompt and save it').argument('<prompt>', 'what to draw')).action(
    run(async (prompt: string, o: GenFlags) => {
      const ctx = makeCtx(o);
      const body = { prompt, ...(await commonFields(ctx, o)) };
      await saveAndReport(ctx, 'image', await withProgress(o, (c) => ctx.easel.generateImage(body, c)), o);
    }),
  );

  generationOptions(
    program
      .command('graphic')
      .description('generate a graphic (icon, logo, UI element)')
      .argument('<prompt>', 'what to draw')
      .option('--transparent-background', 'transparent surroundings (PNG and WebP keep the alpha channel)'),
  ).action(
    run(async (prompt: string, o: GenFlags & { transparentBackground?: boolean }) => {
      const ctx = makeCtx(o);
      const body = { prompt, ...(o.transparentBackground ? { transparent_background: true } : {}), ...(await commonFields(ctx, o)) };
      const r = await withProgress(o, (c) => ctx.easel.generateGraphic(body, c));
      await saveAndReport(ctx, 'graphic', r, o);
    }),
  );

  generationOptions(
    program
      .command('diagram')
      .description('generate a diagram')
      .argument('<prompt>', 'what the diagram shows')
      .addOption(new Option('--type <type>', 'diagram type').choices(DIAGRAM_TYPES)),
  ).action(
    run(async (prompt: string, o: GenFlags & { type?: (typeof DIAGRAM_TYPES)[number] }) => {
      const ctx = makeCtx(o);
      const body = { prompt, ...(o.type ? { type: o.type } : {}), ...(await commonFields(ctx, o)) };
      const r = await withProgress(o, (c) => ctx.easel.generateDiagram(body, c));
      await saveAndReport(ctx, 'diagram', r, o);
    }),
  );

  generationOptions(
    program
      .command('edit')
      .description('edit an image with an instruction; SRC is a file (uploaded first), a URL, or - for stdin')
      .addArgument(kindArgument())
      .argument('<src>', 'the image to edit: file, URL or -')
      .argument('<prompt>', 'the instruction'),
  ).action(
    run(async (kind: EditKind, src: string, prompt: string, o: GenFlags) => {
      const ctx = makeCtx(o);
      const { url } = await resolveImage(ctx.easel, src);
      const body = { image_url: url, prompt, ...(await commonFields(ctx, o)) };
      const r = await withProgress(o, (c) => ctx.easel.edit(kind, body, c));
      await saveAndReport(ctx, `edit-${kind}`, r, o);
    }),
  );

  generationOptions(
    program
      .command('combine')
      .description('combine 2–5 images into one; each input is a file (uploaded first) or a URL')
      .addArgument(kindArgument())
      .argument('<inputs...>', '2 to 5 images')
      .requiredOption('--prompt <text>', 'how to arrange them'),
  ).action(
    run(async (kind: EditKind, inputs: string[], o: GenFlags & { prompt: string }) => {
      if (inputs.length < 2 || inputs.length > 5) throw new CliError('invalid_argument', `combine takes 2 to 5 inputs (got ${inputs.length}).`);
      const ctx = makeCtx(o);
      const urls: string[] = [];
      for (const i of inputs) urls.push((await resolveImage(ctx.easel, i)).url);
      const body = { input_image_urls: urls, prompt: o.prompt, ...(await commonFields(ctx, o)) };
      const r = await withProgress(o, (c) => ctx.easel.combine(kind, body, c));
      await saveAndReport(ctx, `combine-${kind}`, r, o);
    }),
  );
}

function kindArgument(): Argument {
  return new Argument('<kind>', 'image, graphic or diagram').choices(KINDS);
}
