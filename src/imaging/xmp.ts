/** Writes the XMP packet that marks an output as AI-generated (read back by provenance.ts). */

export const IPTC_EXT_NS = 'http://iptc.org/std/Iptc4xmpExt/2008-02-29/';
/** IPTC NewsCodes term for "created by a model trained on sampled content". */
export const TRAINED_ALGORITHMIC_MEDIA = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';

export interface ProvenanceInfo {
  generator: string;
  model: string;
  action: 'created' | 'edited';
  createdAt: Date;
}

/** Every inserted string goes through this: names and model ids come from config and users. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`)
    // Control characters other than tab/LF/CR are illegal in XML 1.0 even when escaped.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '');
}

/**
 * IPTC DigitalSourceType is what platforms and the EU AI Act guidance look for; AISystemUsed
 * (IPTC 2025.1) names the model; xmp:CreatorTool, xmp:CreateDate and an xmpMM:History event
 * ("created"/"edited" are standard stEvt:action values) carry the rest in vocabularies that
 * common tools (exiftool, Adobe) already display.
 */
export function buildXmp(p: ProvenanceInfo): string {
  if (Number.isNaN(p.createdAt.getTime())) throw new RangeError('provenance.createdAt is not a valid date');
  const when = escapeXml(p.createdAt.toISOString());
  const generator = escapeXml(p.generator);
  const model = escapeXml(p.model);
  const agent = escapeXml(`${p.generator} (${p.model})`);
  const verb = p.action === 'edited' ? 'edited' : 'created';
  const description = escapeXml(`AI-generated image, ${verb} by ${p.generator} using model ${p.model}.`);
  return [
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>',
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
    '<rdf:Description rdf:about=""',
    ` xmlns:Iptc4xmpExt="${IPTC_EXT_NS}"`,
    ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
    ' xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"',
    ' xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"',
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"',
    ` Iptc4xmpExt:DigitalSourceType="${TRAINED_ALGORITHMIC_MEDIA}"`,
    ` Iptc4xmpExt:AISystemUsed="${model}"`,
    ` xmp:CreatorTool="${generator}"`,
    ` xmp:CreateDate="${when}"`,
    ` xmp:MetadataDate="${when}">`,
    `<dc:description><rdf:Alt><rdf:li xml:lang="x-default">${description}</rdf:li></rdf:Alt></dc:description>`,
    '<xmpMM:History><rdf:Seq><rdf:li rdf:parseType="Resource">',
    `<stEvt:action>${verb}</stEvt:action><stEvt:when>${when}</stEvt:when><stEvt:softwareAgent>${agent}</stEvt:softwareAgent>`,
    '</rdf:li></rdf:Seq></xmpMM:History>',
    '</rdf:Description>',
    '</rdf:RDF>',
    '</x:xmpmeta>',
    '<?xpacket end="w"?>',
  ].join('\n');
}
