/**
 * Removes a secret (the vendor API key) from an error before it travels further: its message,
 * and the `vendorBody` vendorFetch attaches to definite 4xx answers (some vendors echo the key
 * they were given in a 401 body). Returns the same error object.
 */
export function redactSecret<E>(err: E, secret: string | null | undefined): E {
  if (!secret || !(err instanceof Error)) return err;
  const scrub = (s: string) => s.split(secret).join('[redacted]');
  const e = err as Error & { vendorBody?: unknown };
  if (e.message.includes(secret)) e.message = scrub(e.message);
  if (typeof e.stack === 'string' && e.stack.includes(secret)) e.stack = scrub(e.stack);
  if (typeof e.vendorBody === 'string' && e.vendorBody.includes(secret)) e.vendorBody = scrub(e.vendorBody);
  return err;
}

/** The JSON body a vendor sent with a definite 4xx (attached by vendorFetch), or null. */
export function vendorErrorBody(err: unknown): { status: number; json: unknown } | null {
  const e = err as { vendorStatus?: unknown; vendorBody?: unknown } | null;
  if (!e || typeof e.vendorStatus !== 'number' || typeof e.vendorBody !== 'string') return null;
  try {
    return { status: e.vendorStatus, json: JSON.parse(e.vendorBody) };
  } catch {
    return { status: e.vendorStatus, json: null };
  }
}
