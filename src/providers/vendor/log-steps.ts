/*
 * Sampling steps read from a model server's log text (fal's `logs[].message`, Replicate's `logs`):
 * diffusers / tqdm print bars such as " 45%|████▌     | 9/20 [00:01<00:02, 5.1it/s]", other
 * servers "step 12/28" or "Step 12 of 28". The LAST counter in the text is the current one.
 */

export interface StepCount {
  step: number;
  steps: number;
}

// "9/20" after a bar, a space or "step"; "step 12 of 28". Not a date or a path: both numbers are
// bounded, the counter must stand alone (space, bar, bracket or end around it), and step ≤ steps.
const COUNTER = /(?:^|[\s|:(])(\d{1,5})\s*(?:\/|\bof\b)\s*(\d{1,5})(?=$|[\s[\],)|])/gim;

/** The last step counter in `text` (one line or many), or null when it has none. */
export function lastStepCount(text: string): StepCount | null {
  let last: StepCount | null = null;
  for (const m of text.matchAll(COUNTER)) {
    const step = Number(m[1]);
    const steps = Number(m[2]);
    if (steps > 0 && step <= steps) last = { step, steps };
  }
  return last;
}

/** "Using seed: 1234" (Replicate's cog models, many fal apps), or null. The last one wins. */
export function loggedSeed(text: string): number | null {
  let seed: number | null = null;
  for (const m of text.matchAll(/\bseed\s*[:=]\s*(\d{1,20})\b/gi)) {
    const n = Number(m[1]);
    if (Number.isSafeInteger(n)) seed = n;
  }
  return seed;
}
