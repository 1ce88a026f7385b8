import { RULES } from './rules.js';
import { OperatorBlocklist } from './blocklist.js';
import { moderationBlocklistFile } from '../config.js';
import { imageText } from './image-text.js';
import { normalizeForModeration } from './normalize.js';

export type Strictness = 'normal' | 'liberal';

/** The category of an image refused because its embedded text is past the scan budget or unreadable. */
export const UNSCANNED_CATEGORY = 'embedded_text_unscanned';

export interface ModerationVerdict {
  allowed: boolean;
  /** Machine-readable category of the first rule that matched. */
  category?: string;
  /** True when the content is refused on legal grounds, whatever the strictness. */
  legal?: boolean;
}

/** The moderation port: checked before any money moves or any provider runs. */
export interface Moderator {
  checkText(text: string, strictness: Strictness): ModerationVerdict;
  /** Uploads and input images (overlays), before they are stored or used: the bytes, or a file path (a spooled upload). */
  checkImage(image: Buffer | string, strictness: Strictness): Promise<ModerationVerdict>;
}

export class RuleModerator implements Moderator {
  /** The operator blocklist defaults to EASEL_MODERATION_BLOCKLIST, so every construction site honours it. */
  constructor(private readonly blocklist: OperatorBlocklist | null = operatorBlocklistFromEnv()) {}

  /**
   * Rules read words, not pixels: an image is checked by the text it carries (captions, XMP,
   * EXIF; see image-text.ts) and is otherwise allowed. A deployment that needs to judge what an
   * image shows plugs a classifier in behind this port.
   */
  async checkImage(image: Buffer | string, strictness: Strictness): Promise<ModerationVerdict> {
    const found = await imageText(image);
    // Text that could not all be read is refused, not passed unread: a policy refusal (legal is
    // not claimed), category `embedded_text_unscanned`, whatever the strictness.
    if (found.unscannable) return { allowed: false, category: UNSCANNED_CATEGORY, legal: false };
    return this.checkText(found.text, strictness);
  }

  checkText(text: string, strictness: Strictness): ModerationVerdict {
    const t = normalizeForModeration(text);
    for (const rule of RULES) {
      if (rule.scope !== 'legal') continue;
      if (rule.all.every((re) => re.test(t))) return { allowed: false, category: rule.category, legal: true };
    }
    // After the legal rules (a 451 outranks a policy refusal), before the brand ones, in every strictness.
    if (this.blocklist?.match(t)) return { allowed: false, category: 'operator_blocklist', legal: false };
    for (const rule of RULES) {
      if (rule.scope !== 'brand' || strictness === 'liberal') continue;
      if (rule.all.every((re) => re.test(t))) return { allowed: false, category: rule.category, legal: false };
    }
    return { allowed: true };
  }
}

function operatorBlocklistFromEnv(): OperatorBlocklist | null {
  const file = moderationBlocklistFile();
  return file ? new OperatorBlocklist(file) : null;
}
