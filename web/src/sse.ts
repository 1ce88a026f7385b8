/**
 * A Server-Sent Events reader over fetch. EventSource cannot send an Authorization header, and
 * the key must not go into a URL (URLs end up in logs), so the stream is read and parsed here.
 */
export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** Splits an event-stream body into messages (the WHATWG parsing rules, minus `retry:`). */
export async function readSse(body: ReadableStream<Uint8Array>, onMessage: (m: SseMessage) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let id: string | null = null;
  let event = '';
  let data: string[] = [];
  const dispatch = () => {
    if (data.length) onMessage({ id, event: event || 'message', data: data.join('\n') });
    event = '';
    data = [];
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        dispatch();
        continue;
      }
      if (line.startsWith(':')) continue; // keep-alive comment
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(val);
      else if (field === 'event') event = val;
      else if (field === 'id') id = val;
    }
  }
}
