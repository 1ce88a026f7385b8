import zlib from 'node:zlib';

/**
 * How much embedded text of one image is read and moderated: 1 MiB (characters). Far beyond what
 * captions, XMP and EXIF of real images hold (a few KiB), small enough that the rules run over
 * it in milliseconds. An image carrying more is refused rather than passed partly unread
 * (issue 20: text placed after 64 KiB of filler went unchecked).
 */
export const IMAGE_TEXT_SCAN_BUDGET = 1024 * 1024;

/** Why an image's embedded text could not all be read: it is then refused, never passed unread. */
export type Unscannable = 'over_budget' | 'unreadable';

/** Collects the text of an image's metadata up to the scan budget. */
export class TextSink {
  private readonly parts: string[] = [];
  private size = 0;
  unscannable: Unscannable | null = null;

  constructor(private readonly budget = IMAGE_TEXT_SCAN_BUDGET) {}

  get full(): boolean {
    return this.unscannable !== null;
  }

  add(text: string): void {
    if (this.full || text.length === 0) return;
    this.size += text.length + 1;
    if (this.size > this.budget) {
      this.unscannable = 'over_budget';
      return;
    }
    this.parts.push(text);
  }

  /** The printable text of a binary block: ASCII runs, and UTF-16LE runs (EXIF's XP* tags). */
  addPrintable(b: Buffer): void {
    if (this.full) return;
    if (b.length > this.budget * 4) {
      // Even its printable runs could not fit; no need to scan it to know.
      this.unscannable = 'over_budget';
      return;
    }
    const latin = b.toString('latin1');
    this.add((latin.match(/[\x20-\x7e]{4,}/g) ?? []).join(' '));
    this.add((latin.match(/(?:[\x20-\x7e]\x00){4,}/g) ?? []).map((r) => r.replace(/\x00/g, '')).join(' '));
  }

  /** XMP or any markup: the markup characters become spaces, so attribute values and text read as words. */
  addMarkup(text: string): void {
    this.add(text.replace(/[<>="'/]/g, ' '));
  }

  /**
   * zlib-compressed text (PNG zTXt, iTXt), inflated no further than the budget left: a small
   * chunk that inflates past it is refused, and so is one that does not inflate at all.
   */
  inflate(data: Buffer): Buffer | null {
    if (this.full) return null;
    try {
      return zlib.inflateSync(data, { maxOutputLength: Math.max(1, this.budget - this.size + 1) });
    } catch (e) {
      this.unscannable = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'over_budget' : 'unreadable';
      return null;
    }
  }

  text(): string {
    return this.parts.join('\n');
  }
}
