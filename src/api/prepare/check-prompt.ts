import type { Services } from '../../app.js';
import { EaselError } from '../../errors.js';

/**
 * Runs the prompt checker before anything is charged. Policy refusals are 403; refusals on
 * legal grounds (zero-tolerance categories, refused in every strictness) are 451.
 */
export function checkPrompt(s: Services, text: string, strictness: 'normal' | 'liberal', field = 'prompt'): void {
  const v = s.moderator.checkText(text, strictness);
  if (v.allowed) return;
  if (v.legal) {
    throw new EaselError(451, 'content_rejected', 'This request was refused on legal grounds and cannot be generated in any strictness.', {
      field,
      category: v.category,
      strictness,
    });
  }
  throw new EaselError(403, 'content_rejected', `The ${field} was rejected by content moderation (${v.category}) at strictness "${strictness}". Nothing was charged.`, {
    field,
    category: v.category,
    strictness,
  });
}
