/**
 * Freezes a parsed JSON value and everything in it, so an object shared between readers (a memo's
 * value) cannot be changed by one of them: in strict-mode code (every ES module) a write throws.
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
