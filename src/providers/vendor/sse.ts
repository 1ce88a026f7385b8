/*
 * A small Server-Sent Events reader (WHATWG HTML "event stream interpretation") over a response
 * body: OpenAI's image streaming answers `text/event-stream`. No library needed for this much.
 */

export interface SseEvent {
  /** The `event:` field; "message" when absent. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
}

/**
 * Yields each dispatched event of `body`. Lines end in CRLF, LF or CR; `:` lines are comments;
 * an event is dispatched at a blank line and only when it has data. One event larger than
 * `maxEventBytes` (a partial image is a few MB of base64) ends the read with an error, so a
 * broken or hostile stream cannot grow memory without bound.
 */
export async function* readSse(body: AsyncIterable<Buffer | string>, maxEventBytes = 64 * 1024 * 1024): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder('utf-8');
  let buf = '';
  let event = '';
  let data: string[] = [];
  let size = 0;
  let pendingCR = false;

  const take = function* (line: string): Generator<SseEvent> {
    if (line === '') {
      if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
      event = '';
      data = [];
      size = 0;
      return;
    }
    if (line.startsWith(':')) return;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') {
      data.push(value);
      size += value.length;
      if (size > maxEventBytes) throw new Error(`an event-stream event larger than ${maxEventBytes} bytes`);
    }
  };

  for await (const chunk of body) {
    buf += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    // A CR at the end of the last chunk may be the first half of a CRLF.
    if (pendingCR && buf.startsWith('\n')) buf = buf.slice(1);
    pendingCR = false;
    let start = 0;
    for (let j = 0; j < buf.length; j++) {
      const c = buf.charCodeAt(j);
      if (c !== 10 && c !== 13) continue;
      yield* take(buf.slice(start, j));
      if (c === 13) {
        if (j + 1 < buf.length) {
          if (buf.charCodeAt(j + 1) === 10) j++;
        } else {
          pendingCR = true;
        }
      }
      start = j + 1;
    }
    buf = buf.slice(start);
    if (size + buf.length > maxEventBytes) throw new Error(`an event-stream event larger than ${maxEventBytes} bytes`);
  }
  buf += decoder.decode();
  if (buf !== '') yield* take(buf);
  // A stream that ends without the final blank line still dispatches nothing (per the spec).
}
