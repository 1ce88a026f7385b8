import sharp from 'sharp';
import { readDigitalSourceType } from './provenance.js';
import { escapeXml, TRAINED_ALGORITHMIC_MEDIA, xmpPacket } from './xmp.js';

/** IPTC term for a composite that includes AI-generated elements (an AI overlay on a photo). */
export const COMPOSITE_WITH_TRAINED = 'http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia';

/** What processing must not lose: the source type and, where stated, the model and creation date. */
export interface ProvenanceFacts {
  digitalSourceType: string;
  aiSystemUsed: string | null;
  createDate: string | null;
}

/** The provenance an input declares in its XMP, or null when it declares none. */
export async function readProvenanceFacts(bytes: Buffer): Promise<ProvenanceFacts | null> {
  const dst = await readDigitalSourceType(bytes).catch(() => null);
  if (!dst) return null;
  const xmp = (await sharp(bytes).metadata()).xmp?.toString('utf8') ?? '';
  return { digitalSourceType: dst, aiSystemUsed: property(xmp, 'AISystemUsed'), createDate: property(xmp, 'CreateDate') };
}

/**
 * For an overlay: the base's own provenance wins; an AI-made overlay on a base without any makes
 * the result a composite with AI elements, which is what IPTC's vocabulary says it is.
 */
export function combineProvenance(base: ProvenanceFacts | null, overlay: ProvenanceFacts | null): ProvenanceFacts | null {
  if (base || !overlay) return base;
  if (overlay.digitalSourceType !== TRAINED_ALGORITHMIC_MEDIA) return null;
  return { digitalSourceType: COMPOSITE_WITH_TRAINED, aiSystemUsed: overlay.aiSystemUsed, createDate: null };
}

/**
 * A fresh, minimal packet carrying only the provenance facts, plus an xmpMM:History event naming
 * the processing step. Minimal on purpose: metadata-strip promises to drop every other XMP
 * property, and the other operations re-encode pixels, so nothing else of the input's XMP is kept.
 */
export function buildCarriedXmp(f: ProvenanceFacts, operation: string, when: Date): string {
  const now = escapeXml(when.toISOString());
  const attrs = [
    ` Iptc4xmpExt:DigitalSourceType="${escapeXml(f.digitalSourceType)}"`,
    f.aiSystemUsed ? ` Iptc4xmpExt:AISystemUsed="${escapeXml(f.aiSystemUsed)}"` : '',
    f.createDate ? ` xmp:CreateDate="${escapeXml(f.createDate)}"` : '',
    ` xmp:ModifyDate="${now}" xmp:MetadataDate="${now}"`,
  ].join('');
  const action = operation === 'convert' || operation === 'optimize' || operation === 'metadata-strip' ? 'converted' : 'edited';
  return xmpPacket({
    attributes: [attrs],
    event: [
      `<stEvt:action>${action}</stEvt:action><stEvt:parameters>${escapeXml(`process ${operation}`)}</stEvt:parameters>`,
      `<stEvt:when>${now}</stEvt:when><stEvt:softwareAgent>Easel</stEvt:softwareAgent>`,
    ],
  });
}

/** One simple property in attribute or element form, whatever its prefix; capped, since it is copied out. */
function property(xmp: string, name: string): string | null {
  const m =
    new RegExp(`[\\w.-]+:${name}\\s*=\\s*"([^"]{1,300})"`).exec(xmp) ??
    new RegExp(`[\\w.-]+:${name}\\s*=\\s*'([^']{1,300})'`).exec(xmp) ??
    new RegExp(`<[\\w.-]+:${name}\\s*>([^<]{1,300})</`).exec(xmp);
  return m ? unescape(m[1]!.trim()) || null : null;
}

/** Values are re-escaped when written; undo the input's escaping so they are not escaped twice. */
function unescape(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e] ?? '');
}
