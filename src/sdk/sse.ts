/**
 * A server-sent events parser (the WHATWG event-stream format): `event:`, `data:` (joined with
 * newlines), `id:` (kept as the last event id, also across events without one), `retry:`, comment
 * lines starting with ":", any of \n, \r\n or \r as line ends, and an event dispatched on a blank line.
 */
export interface SseEvent {
  event: string;
  data: string;
  /** The last event id in force when this event was dispatched (what a reconnect sends as Last-Event-ID). */
  id: string | undefined;
}

export class SseParser {
  lastEventId: string | undefined;
  /** The server's reconnection delay (`retry:`), when it set one. */
  retryMs: number | undefined;
  private buf = '';
  private event = '';
  private data: string[] = [];
  private pendingCr = false;

  push(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let text = chunk;
    // A \r at the end of the previous chunk already ended its line; a \n right after it is its pair.
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buf += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      if (m[0] === '\r' && m.index === this.buf.length - 1) {
        this.pendingCr = true;
      }
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      const ev = this.data.length > 0 ? { event: this.event || 'message', data: this.data.join('\n'), id: this.lastEventId } : null;
      this.event = '';
      this.data = [];
      return ev;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') {
      if (!value.includes('\0')) this.lastEventId = value;
    } else if (field === 'retry') {
      if (/^\d+$/.test(value)) this.retryMs = Number(value);
    }
    return null;
  }
}
