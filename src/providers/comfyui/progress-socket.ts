/**
 * ComfyUI's WebSocket (`GET /ws?clientId=<id>`, server.py websocket_handler), opened for one
 * generation before its prompt is posted so no message about it is missed. Best effort: a socket
 * that cannot connect, is refused (a proxy without WebSocket support) or drops only means no live
 * progress; the /history poll stays the source of truth for the result. Node 20 has no global
 * WebSocket, hence undici's.
 */
import { WebSocket } from 'undici';
import type { ComfyProgressTracker } from './progress-tracker.js';

export interface ProgressSocket {
  /** Settles (never rejects) once the socket opened, failed, or `waitMs` passed. */
  readonly ready: Promise<void>;
  /** Closes the socket whatever its state; idempotent. */
  close(): void;
}

/** `http(s)://host[/base]` → `ws(s)://host[/base]/ws?clientId=…` (ComfyUI serves /api/ws too). */
export function socketUrl(baseUrl: string, clientId: string): string {
  const u = new URL(baseUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/ws`;
  u.search = `?clientId=${encodeURIComponent(clientId)}`;
  u.hash = '';
  return u.toString();
}

export function openProgressSocket(baseUrl: string, clientId: string, headers: Record<string, string>, tracker: ComfyProgressTracker, waitMs: number): ProgressSocket {
  let ws: WebSocket;
  try {
    ws = new WebSocket(socketUrl(baseUrl, clientId), { headers });
  } catch {
    return { ready: Promise.resolve(), close() {} };
  }
  ws.binaryType = 'arraybuffer';
  let settle!: () => void;
  const ready = new Promise<void>((resolve) => (settle = resolve));
  const timer = setTimeout(() => settle(), waitMs);
  const settled = () => {
    clearTimeout(timer);
    settle();
  };
  ws.addEventListener('open', settled);
  ws.addEventListener('error', settled);
  ws.addEventListener('close', settled);
  let closed = false;
  ws.addEventListener('message', (ev) => {
    if (closed) return; // the generation ended: nothing is reported after it
    try {
      if (typeof ev.data === 'string') tracker.onText(ev.data);
      else if (ev.data instanceof ArrayBuffer) tracker.onBinary(Buffer.from(ev.data));
    } catch {
      // A message we cannot read is dropped; it never ends the generation.
    }
  });
  return {
    ready,
    close() {
      if (closed) return;
      closed = true;
      settled();
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
        try {
          ws.close();
        } catch {
          // already closing
        }
      }
    },
  };
}
