import sharp from 'sharp';
import { IPTC_EXT_NS } from './xmp.js';

/**
 * The IPTC DigitalSourceType URI in an image's XMP, or null when there is none. Accepts the
 * attribute, element and rdf:resource spellings under whatever prefix the packet binds to the
 * IPTC Extension namespace, since other tools rewrite packets in any of those forms.
 */
export async function readDigitalSourceType(bytes: Buffer): Promise<string | null> {
  const { xmp } = await sharp(bytes).metadata();
  if (!xmp) return null;
  const text = xmp.toString('utf8');
  const prefixes = [...text.matchAll(/xmlns:([\w.-]+)\s*=\s*["']([^"']*)["']/g)]
    .filter((m) => m[2] === IPTC_EXT_NS)
    .map((m) => m[1] as string);
  for (const p of prefixes) {
    const q = p.replace(/[.]/g, '\\.');
    const forms = [
      new RegExp(`(?<![\\w.-])${q}:DigitalSourceType\\s*=\\s*"([^"]*)"`),
      new RegExp(`(?<![\\w.-])${q}:DigitalSourceType\\s*=\\s*'([^']*)'`),
      new RegExp(`<${q}:DigitalSourceType\\s+rdf:resource\\s*=\\s*["']([^"']*)["']`),
      new RegExp(`<${q}:DigitalSourceType\\s*>([^<]*)</${q}:DigitalSourceType>`),
    ];
    for (const re of forms) {
      const m = re.exec(text);
      if (m) return unescapeXml((m[1] as string).trim());
    }
  }
  return null;
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (e[0] !== '#') return named[e.toLowerCase()] ?? '';
    const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
  });
}
