/** A lazy value computed at most once: the first call runs `f`, later calls share its promise (a rejection included). */
export function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
}
