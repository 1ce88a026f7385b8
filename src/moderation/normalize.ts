/*
 * The text folding shared by the built-in rules (moderator.ts) and the operator blocklist
 * (blocklist.ts). Its own module so that neither of those has to import the other for it.
 */

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's' };

/**
 * Folds the usual evasions before matching: case, accents and compatibility forms (NFKD),
 * zero-width characters, leetspeak inside words, and letters split by dots or dashes ("n.u.d.e").
 */
export function normalizeForModeration(text: string): string {
  let t = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  t = t.replace(/[\u200b-\u200f\u2060\ufeff]/g, '');
  t = t.replace(/[a-z0-9@$]+/g, (word) => (/[a-z]/.test(word) ? word.replace(/[013457@$]/g, (c) => LEET[c] ?? c) : word));
  t = t.replace(/\b(?:[a-z][.\-_*]){2,}[a-z]\b/g, (m) => m.replace(/[.\-_*]/g, ''));
  return t.replace(/\s+/g, ' ');
}
