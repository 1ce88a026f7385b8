import sharp, { type Metadata } from 'sharp';

const MAX_TEXT = 64 * 1024;

/**
 * The text an image carries besides its pixels: PNG text chunks, the XMP packet and printable
 * runs of the EXIF block (ImageDescription, UserComment, Artist…). The rule-based moderator cannot
 * see pixels, so this is what it can check; captions and titles are where tools and people write
 * what an image shows. Undecodable input yields '' — deciding what is an image is the caller's job.
 */
export async function imageText(input: Buffer | string): Promise<string> {
  let meta: Metadata;
  try {
    // A string is a file path (a spooled upload): sharp reads the metadata from the file.
    meta = await sharp(input).metadata();
  } catch {
    return '';
  }
  const parts: string[] = [];
  for (const c of meta.comments ?? []) parts.push(`${c.keyword} ${c.text}`);
  // Markup characters become spaces so attribute values and element text read as plain words.
  if (meta.xmp) parts.push(meta.xmp.toString('utf8').replace(/[<>="'/]/g, ' '));
  if (meta.exif) parts.push(printableRuns(meta.exif));
  return parts.join('\n').slice(0, MAX_TEXT);
}

/** ASCII runs of four or more printable characters: EXIF strings without parsing every IFD. */
function printableRuns(b: Buffer): string {
  return (b.toString('latin1').match(/[\x20-\x7e]{4,}/g) ?? []).join(' ');
}
