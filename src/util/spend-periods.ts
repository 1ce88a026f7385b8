/** The UTC day and month money spent at `ms` counts toward (spending caps): `d2026-12-06`, `m2026-12`. */
export function spendPeriods(ms: number): { day: string; month: string } {
  const iso = new Date(ms).toISOString();
  return { day: `d${iso.slice(0, 10)}`, month: `m${iso.slice(0, 7)}` };
}

/** When the UTC day and month that contain `ms` end: the caps' reset times. */
export function spendResets(ms: number): { day: number; month: number } {
  const d = new Date(ms);
  return {
    day: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1),
    month: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
  };
}
