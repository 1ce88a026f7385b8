/**
 * The WebSocket side of the fake ComfyUI (server.py websocket_handler / send_json / send_bytes):
 * `GET /ws?clientId=<sid>` (and /api/ws) upgrades with the `ws` package; ComfyUI keeps ONE socket
 * per client id (a second connection with the same id replaces the first in its table), greets
 * each new socket with `{type: 'status', data: {status: {exec_info: {queue_remaining}}, sid}}`,
 * sends a prompt's messages to the client id that queued it, and broadcasts queue changes.
 * Binary frames are `>I event type` (1 = PREVIEW_IMAGE) + `>I image type` (1 JPEG, 2 PNG) + bytes.
 *
 * For tests: `enabled = false` refuses the upgrade (404, like a proxy that does not pass
 * WebSockets), `open` counts sockets open now, `connections` / `clientIds` every one accepted,
 * `dropAll()` cuts every socket from the server side.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export class FakeComfySockets {
  enabled = true;
  /** Sockets accepted since start (or the last resetCounts), with the client id each asked for. */
  connections = 0;
  readonly clientIds: string[] = [];
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly bySid = new Map<string, WebSocket>();
  private readonly all = new Set<WebSocket>();

  constructor(
    /** null when the upgrade may proceed, else the HTTP status to refuse it with (an auth proxy's 401). */
    private readonly refusal: (req: http.IncomingMessage) => number | null,
    private readonly queueRemaining: () => number,
  ) {}

  /** Sockets open right now (closed ones leave as soon as their close handshake ends). */
  get open(): number {
    return this.all.size;
  }

  attach(server: http.Server): void {
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  resetCounts(): void {
    this.connections = 0;
    this.clientIds.length = 0;
  }

  hasClient(sid: string): boolean {
    return this.bySid.has(sid);
  }

  /** `{type, data}` to one client id, or to every socket when `sid` is null (queue updates). */
  sendJson(sid: string | null, type: string, data: unknown): void {
    const text = JSON.stringify({ type, data });
    for (const ws of sid === null ? [...this.all] : [this.bySid.get(sid)]) if (ws && ws.readyState === ws.OPEN) ws.send(text);
  }

  /** A PREVIEW_IMAGE frame (event 1) with the image type (1 JPEG, 2 PNG), as send_image packs it. */
  sendPreview(sid: string, imageType: 1 | 2, bytes: Buffer): void {
    const ws = this.bySid.get(sid);
    if (!ws || ws.readyState !== ws.OPEN) return;
    const head = Buffer.alloc(8);
    head.writeUInt32BE(1, 0);
    head.writeUInt32BE(imageType, 4);
    ws.send(Buffer.concat([head, bytes]), { binary: true });
  }

  /** Every socket cut from the server side (no close handshake), as a restart or a proxy timeout would. */
  dropAll(): void {
    for (const ws of this.all) ws.terminate();
  }

  close(): void {
    this.dropAll();
    this.wss.close();
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const u = new URL(req.url ?? '/', 'http://fake');
    const path = u.pathname.replace(/^\/api(?=\/)/, '');
    const refuse = (status: number) => {
      socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Not Found'}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    };
    if (path !== '/ws' || !this.enabled) return refuse(404);
    const denied = this.refusal(req);
    if (denied !== null) return refuse(denied);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, u.searchParams.get('clientId') || crypto.randomUUID().replace(/-/g, '')));
  }

  private accept(ws: WebSocket, sid: string): void {
    this.connections++;
    this.clientIds.push(sid);
    this.all.add(ws);
    this.bySid.set(sid, ws);
    ws.on('error', () => {});
    ws.on('close', () => {
      this.all.delete(ws);
      if (this.bySid.get(sid) === ws) this.bySid.delete(sid);
    });
    this.sendJson(sid, 'status', { status: { exec_info: { queue_remaining: this.queueRemaining() } }, sid });
  }
}
