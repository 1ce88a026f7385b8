import type { BlobStore } from '../blob/port.js';
import { encodeAll, type OutputFormat } from '../imaging/encode.js';
import { imageWork } from '../imaging/image-work.js';
import type { StoredImage } from '../jobs/types.js';
import { signEncoded, type ProvenanceInput } from '../imaging/signing.js';

const EXT: Record<OutputFormat, string> = { png: 'png', jpeg: 'jpg', webp: 'webp' };

/**
 * Encodes a provider's output into every delivery format with provenance metadata (IPTC XMP and
 * a signed C2PA manifest, whose ingredients are `provenance.inputs` for edits and combines;
 * hashes are of the final signed bytes) and stores
 * each under `<prefix>.<ext>`. Callers put the run (the job's attempt) in the prefix, so a run
 * that lost its claim never replaces files another run recorded; a crashed run's files stay in
 * the job's folder until its retention ends.
 */
export async function storeImage(
  blob: BlobStore,
  prefix: string,
  raw: Buffer,
  provenance: { model: string; action: 'created' | 'edited'; inputs?: ProvenanceInput[] },
): Promise<StoredImage> {
  const info = { generator: 'Easel', model: provenance.model, action: provenance.action, createdAt: new Date() };
  // Decoded pixels and encoder buffers are the process's largest allocations: bounded (src/imaging/image-work.ts).
  const encoded = await imageWork('finish', async () => signEncoded(await encodeAll(raw, info), info, provenance.inputs));
  const order: OutputFormat[] = ['png', 'jpeg', 'webp'];
  const stored = await Promise.all(
    order.map(async (fmt) => {
      const e = encoded[fmt];
      const key = `${prefix}.${EXT[fmt]}`;
      await blob.put(key, e.bytes, e.mime);
      return [fmt, { key, mime: e.mime, size_bytes: e.bytes.length, hash: e.sha256 }] as const;
    }),
  );
  const formats = Object.fromEntries(stored) as StoredImage['formats'];
  return { formats, image_hash: encoded.png.sha256, width: encoded.png.width, height: encoded.png.height };
}
