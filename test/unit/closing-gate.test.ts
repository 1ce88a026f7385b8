import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import Fastify from 'fastify';
import { installClosingGate } from '../../src/api/closing-gate.js';
import { installErrorHandling } from '../../src/api/error-handler.js';

/** Reads one HTTP response off a raw socket: status line, headers, and a Content-Length body. */
function nextResponse(socket: net.Socket): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = buf.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const length = Number(headers['content-length'] ?? 0);
      if (buf.length < end + 4 + length) return;
      socket.off('data', onData);
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: buf.slice(end + 4, end + 4 + length) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

describe('closing gate', () => {
  it('a request on a kept-alive connection during shutdown answers 503 in the error shape, with Retry-After, and closes', async () => {
    const app = Fastify({ return503OnClosing: false });
    installClosingGate(app);
    installErrorHandling(app);
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    app.get('/slow', async () => (await slow, { ok: true }));
    app.get('/fast', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as net.AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));

    const first = nextResponse(socket);
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    const closed = app.close(); // waits for the request in flight
    await new Promise((r) => setTimeout(r, 50));
    release();
    assert.equal((await first).status, 200);

    const second = nextResponse(socket);
    socket.write('GET /fast HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    const res = await second;
    assert.equal(res.status, 503);
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(res.headers.connection, 'close');
    const body = JSON.parse(res.body);
    assert.equal(body.error, 'service_unavailable');
    assert.equal(typeof body.request_id, 'string');
    socket.destroy();
    await closed;
  });
});
