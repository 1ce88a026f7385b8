import type { TextSink } from './text-sink.js';

export const isJpeg = (b: Buffer) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

const XMP = 'http://ns.adobe.com/xap/1.0/\0';
const XMP_EXTENSION = 'http://ns.adobe.com/xmp/extension/\0';

/**
 * The text of every marker segment of a JPEG, however many and wherever they are (progressive
 * files may put segments between scans): comments (COM), XMP packets (APP1, extended XMP
 * included), and the printable runs of every other application segment (EXIF, IPTC in APP13,
 * ICC descriptions…). Entropy-coded data between segments is skipped marker by marker.
 */
export function jpegText(b: Buffer, sink: TextSink): void {
  let o = 2;
  while (o + 4 <= b.length && !sink.full) {
    if (b[o] !== 0xff) {
      o = nextMarker(b, o);
      continue;
    }
    const marker = b[o + 1]!;
    if (marker === 0xff) {
      o += 1; // fill byte
      continue;
    }
    if (marker === 0xd9) break; // EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      o += 2; // standalone markers: TEM, RSTn
      continue;
    }
    const len = b.readUInt16BE(o + 2);
    if (len < 2) break;
    const data = b.subarray(o + 4, Math.min(b.length, o + 2 + len));
    readSegment(marker, data, sink);
    o += 2 + len;
    // After a start of scan come the compressed data: skip to the next marker.
    if (marker === 0xda) o = nextMarker(b, o);
  }
}

/** The next 0xFF that starts a marker (not a stuffed 0xFF00, not a restart marker). */
function nextMarker(b: Buffer, from: number): number {
  let i = from;
  for (;;) {
    i = b.indexOf(0xff, i);
    if (i < 0 || i + 1 >= b.length) return b.length;
    const m = b[i + 1]!;
    if (m !== 0x00 && !(m >= 0xd0 && m <= 0xd7) && m !== 0xff) return i;
    i += 1;
  }
}

function readSegment(marker: number, data: Buffer, sink: TextSink): void {
  if (marker === 0xfe) return sink.add(data.toString('utf8'));
  if (marker < 0xe0 || marker > 0xef) return; // tables, frame and scan headers hold no text
  const head = data.toString('latin1', 0, Math.min(data.length, XMP_EXTENSION.length));
  if (marker === 0xe1 && head.startsWith(XMP)) return sink.addMarkup(data.toString('utf8', XMP.length));
  // Extended XMP: a 32-byte GUID, full length and offset precede each piece of the packet.
  if (marker === 0xe1 && head.startsWith(XMP_EXTENSION)) return sink.addMarkup(data.toString('utf8', XMP_EXTENSION.length + 40));
  sink.addPrintable(data);
}
