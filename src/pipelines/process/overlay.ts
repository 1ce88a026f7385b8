import sharp from 'sharp';
import { JobFailure } from '../../errors.js';
import { combineProvenance, readProvenanceFacts } from '../../imaging/provenance-carry.js';
import type { ProcessFn } from './types.js';
import { decodeInput } from './decode.js';
import { invalid } from './failures.js';
import { MIME_OF } from '../../contract/image-formats.js';

interface OverlayParams { overlay_image_url: string; x: number; y: number; opacity?: number | null }

/**
 * Places one image over the base at (x, y). The overlay is moderated before it is used at all.
 * It may hang over the edges (only the part on the base is drawn) but must touch the base.
 * Opacity scales the overlay's own alpha.
 */
export const overlay: ProcessFn = async (ctx) => {
  const p = ctx.params as unknown as OverlayParams;
  const bytes = await ctx.deps.inputs.fetch(p.overlay_image_url, 'overlay_image_url', ctx.signal);
  const verdict = await ctx.deps.moderator.checkImage(bytes, ctx.strictness);
  if (!verdict.allowed) {
    throw new JobFailure('content_rejected', `overlay_image_url was rejected by content moderation (${verdict.category ?? 'policy'}) at strictness "${ctx.strictness}".`, false);
  }
  const ov = await decodeInput(bytes, 'overlay_image_url', { alpha: true });
  const { width: W, height: H } = ctx.input;
  const left = Math.max(0, p.x);
  const top = Math.max(0, p.y);
  const right = Math.min(W, p.x + ov.width);
  const bottom = Math.min(H, p.y + ov.height);
  if (right <= left || bottom <= top) {
    throw invalid(p.x >= W || p.x + ov.width <= 0 ? 'x' : 'y', `the overlay (${ov.width} × ${ov.height} px at ${p.x}, ${p.y}) lies entirely outside the image (${W} × ${H} px).`);
  }
  const opacity = p.opacity ?? 1;
  if (opacity < 1) for (let i = 3; i < ov.data.length; i += 4) ov.data[i] = Math.round(ov.data[i]! * opacity);
  const piece = await sharp(ov.data, { raw: { width: ov.width, height: ov.height, channels: 4 } })
    .extract({ left: left - p.x, top: top - p.y, width: right - left, height: bottom - top })
    .raw()
    .toBuffer();
  ctx.provenance = combineProvenance(ctx.provenance, await readProvenanceFacts(bytes));
  ctx.ingredients.push({ bytes, mime: MIME_OF[ov.format] ?? 'image/png', title: 'overlay_image_url' });
  const img = ctx.pixels().composite([{ input: piece, raw: { width: right - left, height: bottom - top, channels: 4 }, left, top }]);
  return ctx.encode(img, ctx.sameFormat);
};
