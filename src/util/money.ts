/** Money is integer micro-EUR inside Easel and a 6-decimal string on the wire: no float ever touches a balance. */
export const MICROS_PER_EUR = 1_000_000;

export function eurToMicros(eur: string): number {
  const m = /^(-)?(\d{1,9})(?:\.(\d{1,6}))?$/.exec(eur.trim());
  if (!m) throw new Error(`not a EUR amount: ${eur}`);
  const whole = Number(m[2]);
  const frac = Number((m[3] ?? '').padEnd(6, '0'));
  const v = whole * MICROS_PER_EUR + frac;
  return m[1] ? -v : v;
}

export function microsToEur(micros: number): string {
  if (!Number.isSafeInteger(micros)) throw new Error(`not an integer micro amount: ${micros}`);
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / MICROS_PER_EUR);
  const frac = String(abs % MICROS_PER_EUR).padStart(6, '0');
  return `${sign}${whole}.${frac}`;
}
