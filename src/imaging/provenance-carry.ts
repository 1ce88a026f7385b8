import sharp from 'sharp';
import { readDigitalSourceType } from './provenance.js';
import { escapeXml, IPTC_EXT_NS, TRAINED_ALGORITHMIC_MEDIA } from './xmp.js';

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
  return [
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>',
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
    '<rdf:Description rdf:about=""',
    ` xmlns:Iptc4xmpExt="${IPTC_EXT_NS}"`,
    ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
    ' xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"',
    ' xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"',
    `${attrs}>`,
    '<xmpMM:History><rdf:Seq><rdf:li rdf:parseType="Resource">',
    `<stEvt:action>${action}</stEvt:action><stEvt:parameters>${escapeXml(`process ${operation}`)}</stEvt:parameters>`,
    `<stEvt:when>${now}</stEvt:when><stEvt:softwareAgent>Easel</stEvt:softwareAgent>`,
    '</rdf:li></rdf:Seq></xmpMM:History>',
    '</rdf:Description>',
    '</rdf:RDF>',
    '</x:xmpmeta>',
    '<?xpacket end="w"?>',
  ].join('\n');
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
