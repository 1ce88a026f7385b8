import { getKey } from './session';
import type { ApiErrorBody } from './types';

/** A non-2xx answer, in the API's one error shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

type Listener = (e: ApiError) => void;
const unauthorizedListeners = new Set<Listener>();

/** The app signs out when any call answers 401 (a revoked or wrong key). */
export function onUnauthorized(l: Listener): () => void {
  unauthorizedListeners.add(l);
  return () => unauthorizedListeners.delete(l);
}

export interface CallOptions {
  body?: unknown;
  /** Use this key instead of the session's (sign-in checks a key before keeping it). */
  key?: string;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** One call to the public /v1 API with the user's key, exactly as any other client makes it. */
export async function call<T>(method: string, path: string, opts: CallOptions = {}): Promise<{ body: T; headers: Headers; status: number }> {
  const key = opts.key ?? getKey();
  const headers: Record<string, string> = { accept: 'application/json', ...(opts.headers ?? {}) };
  if (key) headers.authorization = `Bearer ${key}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: opts.signal, cache: 'no-store' });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', 'The server could not be reached.');
  }
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const b = (parsed ?? {}) as Partial<ApiErrorBody>;
    const err = new ApiError(res.status, b.error ?? 'http_error', b.message ?? `HTTP ${res.status}`, b.request_id, b.details);
    if (res.status === 401 && opts.key === undefined) for (const l of unauthorizedListeners) l(err);
    throw err;
  }
  return { body: parsed as T, headers: res.headers, status: res.status };
}

export const get = <T>(path: string, opts?: CallOptions) => call<T>('GET', path, opts).then((r) => r.body);
export const post = <T>(path: string, body?: unknown, opts?: CallOptions) => call<T>('POST', path, { ...opts, body: body ?? {} }).then((r) => r.body);
export const del = <T>(path: string, opts?: CallOptions) => call<T>('DELETE', path, opts).then((r) => r.body);
