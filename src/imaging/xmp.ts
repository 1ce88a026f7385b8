/** Writes Easel's XMP packets: the one that marks an output as AI-generated (read back by provenance.ts) and the envelope carried provenance shares. */

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
  return xmpPacket({
    attributes: [
      ` Iptc4xmpExt:DigitalSourceType="${TRAINED_ALGORITHMIC_MEDIA}"`,
      ` Iptc4xmpExt:AISystemUsed="${model}"`,
      ` xmp:CreatorTool="${generator}"`,
      ` xmp:CreateDate="${when}"`,
      ` xmp:MetadataDate="${when}"`,
    ],
    description,
    event: [`<stEvt:action>${verb}</stEvt:action><stEvt:when>${when}</stEvt:when><stEvt:softwareAgent>${agent}</stEvt:softwareAgent>`],
  });
}

/** The parts of a packet, all XML text already (values escaped with escapeXml). */
export interface XmpPacketParts {
  /** Attribute lines of the rdf:Description, each starting with a space. */
  attributes: string[];
  /** Text of a dc:description; the dc namespace is declared only when there is one. */
  description?: string;
  /** Lines inside the packet's single xmpMM:History event. */
  event: string[];
}

/**
 * The one envelope for every packet Easel writes, here and for carried provenance
 * (provenance-carry.ts), so namespaces and packet framing cannot drift apart. Callers pass
 * lines rather than values so each keeps its own layout, and with it the bytes it wrote before.
 */
export function xmpPacket(p: XmpPacketParts): string {
  return [
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>',
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
    '<rdf:Description rdf:about=""',
    ` xmlns:Iptc4xmpExt="${IPTC_EXT_NS}"`,
    ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
    ' xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"',
    ' xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"',
    ...(p.description === undefined ? [] : [' xmlns:dc="http://purl.org/dc/elements/1.1/"']),
    `${p.attributes.join('\n')}>`,
    ...(p.description === undefined ? [] : [`<dc:description><rdf:Alt><rdf:li xml:lang="x-default">${p.description}</rdf:li></rdf:Alt></dc:description>`]),
    '<xmpMM:History><rdf:Seq><rdf:li rdf:parseType="Resource">',
    ...p.event,
    '</rdf:li></rdf:Seq></xmpMM:History>',
    '</rdf:Description>',
    '</rdf:RDF>',
    '</x:xmpmeta>',
    '<?xpacket end="w"?>',
  ].join('\n');
}
