/** Display helpers. Money stays the API's exact decimal string; only trailing zeros are trimmed. */
export function eur(amount: string | undefined | null): string {
  if (amount == null) return '—';
  const m = /^(-?\d+)\.(\d+)$/.exec(amount);
  if (!m) return `€${amount}`;
  const frac = m[2]!.replace(/0+$/, '').padEnd(2, '0');
  return `€${m[1]}.${frac}`;
}

/**
 * A job's short id: the last 8 hex digits of its UUIDv7, which are random. The first 8 are the
 * time prefix, the same for every job made within about a minute (issue 24).
 */
export function shortId(id: string): string {
  return id.replace(/-/g, '').slice(-8);
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function thisMonthUtc(): string {
  return new Date().toISOString().slice(0, 7);
}
