import path from 'node:path';
import { Option, type Command } from 'commander';
import type { ProcessResponse } from '../../sdk/index.js';
import { clientOptions, CliError, intArg, makeCtx, run, type ClientFlags, type Ctx } from './context.js';
import { resolveImage } from './inputs.js';

interface ProcFlags extends ClientFlags {
  out: string;
}

/** One processing subcommand: `easel process <name> <src> [params]`; the result is saved into --out. */
function op<F extends ProcFlags>(
  parent: Command,
  name: string,
  description: string,
  options: (c: Command) => Command,
  call: (ctx: Ctx, input: string, o: F) => Promise<ProcessResponse>,
): void {
  const cmd = parent.command(name).description(`${description} (free). SRC: a file (uploaded first), a URL, or - for stdin`).argument('<src>', 'file, URL or -');
  clientOptions(options(cmd)).option('--out <dir>', 'directory for the result', '.').action(
    run(async (src: string, o: F) => {
      const ctx = makeCtx(o);
      const input = await resolveImage(ctx.easel, src);
      const r = await call(ctx, input.url, o);
      const [file] = await ctx.easel.downloadAll(r, o.out, { name: `${input.stem}-${name}` });
      if (ctx.mode === 'json') return ctx.json({ ...r, files: [file!.path] });
      if (ctx.mode === 'pipe') return ctx.out(file!.path);
      ctx.out(`✓ ${name}: ${path.relative('.', file!.path) || file!.path}  (${r.content_type})`);
    }),
  );
}

export function registerProcessCommands(program: Command): void {
  const proc = program.command('process').description('free image processing: crop, resize, convert, optimize, remove-bg');

  op<ProcFlags & { x: number; y: number; width: number; height: number }>(
    proc,
    'crop',
    'cut out a rectangle',
    (c) =>
      c
        .addOption(new Option('--x <px>', 'left edge').argParser(intArg).makeOptionMandatory())
        .addOption(new Option('--y <px>', 'top edge').argParser(intArg).makeOptionMandatory())
        .addOption(new Option('--width <px>').argParser(intArg).makeOptionMandatory())
        .addOption(new Option('--height <px>').argParser(intArg).makeOptionMandatory()),
    (ctx, input, o) => ctx.easel.process.crop({ input_image_url: input, x: o.x, y: o.y, width: o.width, height: o.height }),
  );

  op<ProcFlags & { width?: number; height?: number; fit?: 'fill' | 'cover' | 'inside' }>(
    proc,
    'resize',
    'resize; with one side given the other keeps the aspect ratio',
    (c) =>
      c
        .addOption(new Option('--width <px>').argParser(intArg))
        .addOption(new Option('--height <px>').argParser(intArg))
        .addOption(new Option('--fit <fit>', 'with both sides: fill, cover or inside').choices(['fill', 'cover', 'inside'])),
    (ctx, input, o) => {
      if (o.width === undefined && o.height === undefined) throw new CliError('invalid_argument', 'resize needs --width and/or --height.');
      return ctx.easel.process.resize({
        input_image_url: input,
        ...(o.width !== undefined ? { width: o.width } : {}),
        ...(o.height !== undefined ? { height: o.height } : {}),
        ...(o.fit ? { fit: o.fit } : {}),
      });
    },
  );

  op<ProcFlags & { format: 'png' | 'jpeg' | 'webp' | 'avif'; quality?: number }>(
    proc,
    'convert',
    'convert to another format',
    (c) =>
      c
        .addOption(new Option('--format <format>', 'target format').choices(['png', 'jpeg', 'webp', 'avif']).makeOptionMandatory())
        .addOption(new Option('--quality <1-100>', 'jpeg, webp, avif').argParser(intArg)),
    (ctx, input, o) => ctx.easel.process.convert({ input_image_url: input, format: o.format, ...(o.quality !== undefined ? { quality: o.quality } : {}) }),
  );

  op<ProcFlags & { mode?: 'lossy' | 'lossless'; targetBytes?: number }>(
    proc,
    'optimize',
    'make the file smaller',
    (c) =>
      c
        .addOption(new Option('--mode <mode>', 'lossy (default) or lossless').choices(['lossy', 'lossless']))
        .addOption(new Option('--target-bytes <n>', 'lossy: the best quality that fits in this many bytes').argParser(intArg)),
    (ctx, input, o) =>
      ctx.easel.process.optimize({ input_image_url: input, ...(o.mode ? { mode: o.mode } : {}), ...(o.targetBytes !== undefined ? { target_bytes: o.targetBytes } : {}) }),
  );

  op<ProcFlags & { tolerance?: number }>(
    proc,
    'remove-bg',
    'remove the background',
    (c) => c.addOption(new Option('--tolerance <0-255>', 'colour distance still counted as background').argParser(intArg)),
    (ctx, input, o) => ctx.easel.process.removeBackground({ input_image_url: input, ...(o.tolerance !== undefined ? { tolerance: o.tolerance } : {}) }),
  );
}
