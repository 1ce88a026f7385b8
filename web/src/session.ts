/**
 * The API key lives in sessionStorage only: gone when the tab closes, never in localStorage or a
 * cookie (a cookie would be sent by the browser on its own, which the API does not want anyway).
 */
const KEY = 'easel.apiKey';

export function getKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function clearKey(): void {
  sessionStorage.removeItem(KEY);
}
