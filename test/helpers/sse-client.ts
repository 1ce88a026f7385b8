import { SseParser, type SseEvent } from '../../src/sdk/sse.js';

export interface StreamResult {
  status: number;
  headers: Headers;
  events: SseEvent[];
  /** true when the server ended the stream; false when we stopped reading (stopAfter). */
  ended: boolean;
  lastEventId: string | undefined;
}

/**
 * Reads GET /v1/jobs/{id}/events over real HTTP with the SDK's event-stream parser. `stopAfter`
 * disconnects (aborts the request) once that many events arrived, like a client losing its network.
 */
export async function readEvents(
  base: string,
  path: string,
  key: string,
  opts: { lastEventId?: string; stopAfter?: (events: SseEvent[]) => boolean; timeoutMs?: number } = {},
): Promise<StreamResult> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error('stream timed out')), opts.timeoutMs ?? 60_000);
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept: 'text/event-stream' };
  if (opts.lastEventId !== undefined) headers['last-event-id'] = opts.lastEventId;
  try {
    const res = await fetch(base + path, { headers, signal: ac.signal });
    const parser = new SseParser();
    const events: SseEvent[] = [];
    if (res.status !== 200 || !res.body) return { status: res.status, headers: res.headers, events, ended: true, lastEventId: undefined };
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { status: res.status, headers: res.headers, events, ended: true, lastEventId: parser.lastEventId };
      events.push(...parser.push(decoder.decode(value, { stream: true })));
      if (opts.stopAfter?.(events)) {
        ac.abort();
        return { status: res.status, headers: res.headers, events, ended: false, lastEventId: parser.lastEventId };
      }
    }
  } finally {
    clearTimeout(timer);
  }
}
