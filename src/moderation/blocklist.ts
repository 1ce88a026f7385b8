import fs from 'node:fs';
import { normalizeForModeration } from './normalize.js';

/**
 * The operator's own blocked terms (EASEL_MODERATION_BLOCKLIST): a text file, one term or phrase
 * per line, `#` starts a comment. A term matches as a whole word or phrase after the same folding
 * as the built-in rules (case, accents, leetspeak, spacing). It applies in every strictness: it
 * is the operator's policy, which `liberal` does not relax.
 *
 * The file is re-read when its modification time or size changes, so an operator can block a
 * term without a restart, and jobs already waiting in the queue are judged by the new list when
 * their next step runs. A missing file is an empty list (it may be created later).
 */
export class OperatorBlocklist {
  private loaded: { stamp: string; terms: { term: string; re: RegExp }[] } | null = null;

  constructor(readonly file: string) {}

  /** The first blocked term in `normalized` (text already passed through normalizeForModeration), or null. */
  match(normalized: string): string | null {
    for (const t of this.current()) if (t.re.test(normalized)) return t.term;
    return null;
  }

  private current(): { term: string; re: RegExp }[] {
    let stamp: string;
    try {
      const st = fs.statSync(this.file);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      stamp = 'missing';
    }
    if (this.loaded?.stamp !== stamp) this.loaded = { stamp, terms: stamp === 'missing' ? [] : parse(readOrEmpty(this.file)) };
    return this.loaded.terms;
  }
}

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function parse(text: string): { term: string; re: RegExp }[] {
  const out: { term: string; re: RegExp }[] = [];
  for (const line of text.split(/\r?\n/)) {
    const term = normalizeForModeration(line.replace(/#.*$/, '')).trim();
    if (!term) continue;
    // Letters and digits around the term mean it is part of another word.
    out.push({ term, re: new RegExp(`(?<![\\p{L}\\p{N}])${escape(term)}(?![\\p{L}\\p{N}])`, 'u') });
  }
  return out;
}
