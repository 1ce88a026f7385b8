import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Easel, EaselJobFailedError, SseParser, type Job } from '../../src/sdk/index.js';

const JOB_ID = '01a2259d-0000-7000-8000-000000000001';
const FAILED_ID = '01a2259d-0000-7000-8000-000000000002';
const job = (status: string, done: number, extra: Record<string, unknown> = {}) => ({
  job_id: JOB_ID,
  status,
  operation: 'story',
  created_at: '2026-11-29T00:00:00Z',
  scenes_completed: done,
  scenes_total: 4,
  ...extra,
});
const frame = (id: string, event: string, data: unknown) => `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

describe('SseParser', () => {
  it('parses fields, multi-line data, comments, ids and retry across arbitrary chunk boundaries and line ends', () => {
    const stream = ': keep-alive\r\nretry: 250\r\nid: 7\r\nevent: progress\r\ndata: {"a":\r\ndata: 1}\r\n\r\ndata: plain\n\nid: 8\rdata: x\r\r';
    for (const size of [1, 2, 3, 5, 8, stream.length]) {
      const p = new SseParser();
      const events = [];
      for (let i = 0; i < stream.length; i += size) events.push(...p.push(stream.slice(i, i + size)));
      assert.deepEqual(
        events,
        [
          { event: 'progress', data: '{"a":\n1}', id: '7' },
          { event: 'message', data: 'plain', id: '7' },
          { event: 'message', data: 'x', id: '8' },
        ],
        `chunk size ${size}`,
      );
      assert.equal(p.retryMs, 250);
      assert.equal(p.lastEventId, '8');
    }
  });

  it('dispatches nothing for an event without data, and ignores unknown fields', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('event: ping\nfoo: bar\n\nid: 3\n\n'), []);
    assert.equal(p.lastEventId, '3');
  });
});

describe('waitForJob over a local text/event-stream server', () => {
  let server: http.Server;
  let base: string;
  const connections: { lastEventId: string | undefined; auth: string | undefined; accept: string | undefined }[] = [];
  let eventsMode: 'sse' | 'none' = 'sse';
  let polls = 0;

  before(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      const events = /^\/v1\/jobs\/([^/]+)\/events$/.exec(url.pathname);
      if (events) {
        if (eventsMode === 'none') {
          res.writeHead(404, { 'content-type': 'application/json', 'x-request-id': 'req_404' });
          return res.end(JSON.stringify({ error: 'not_found', message: `No route GET ${url.pathname}.`, request_id: 'req_404' }));
        }
        const id = events[1]!;
        const lastEventId = req.headers['last-event-id'] as string | undefined;
        connections.push({ lastEventId, auth: req.headers.authorization, accept: req.headers.accept });
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        if (id === FAILED_ID) {
          res.write(frame('1', 'failed', { job_id: FAILED_ID, status: 'failed', error: { code: 'content_rejected', message: 'no' } }));
          return res.end();
        }
        if (lastEventId === undefined) {
          // First connection: two events, then the connection drops before the end.
          res.write('retry: 20\n: hello\n\n');
          res.write(frame('1', 'progress', job('processing', 1)));
          res.write(frame('2', 'progress', job('processing', 2)));
          return res.end();
        }
        // The reconnect carries on after the last event the client saw.
        const after = Number(lastEventId);
        for (let n = after + 1; n <= 4; n++) {
          res.write(n < 4 ? frame(String(n), 'progress', { scenes_completed: n, scenes_total: 4 }) : frame(String(n), 'completed', { status: 'completed', scenes_completed: 4 }));
        }
        return res.end();
      }
      const get = /^\/v1\/jobs\/([^/]+)$/.exec(url.pathname);
      if (get) {
        polls++;
        res.writeHead(200, { 'content-type': 'application/json' });
        if (get[1] === FAILED_ID) return res.end(JSON.stringify({ ...job('failed', 0), job_id: FAILED_ID, error: { code: 'content_rejected', message: 'The prompt was rejected.' } }));
        if (eventsMode === 'none' && polls < 3) return res.end(JSON.stringify(job('processing', polls)));
        return res.end(JSON.stringify(job('completed', 4, { result: { id: JOB_ID, scenes: [], character_refs: [] } })));
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('follows the stream, reconnects with Last-Event-ID after a drop, and returns the completed job', async () => {
    const easel = new Easel({ apiKey: 'esl_test', baseUrl: base });
    const seen: string[] = [];
    const final = await easel.waitForJob(JOB_ID, { onProgress: (j: Job) => seen.push(`${j.status} ${j.scenes_completed}/${j.scenes_total}`) });
    assert.equal(final.status, 'completed');
    assert.equal(final.job_id, JOB_ID);
    assert.ok(final.result, 'the final job is read with its result');
    assert.deepEqual(seen, ['processing 1/4', 'processing 2/4', 'processing 3/4', 'completed 4/4']);
    assert.equal(connections.length, 2, 'one reconnect');
    assert.equal(connections[0]!.lastEventId, undefined);
    assert.equal(connections[1]!.lastEventId, '2', 'the reconnect names the last event seen');
    for (const c of connections) {
      assert.equal(c.auth, 'Bearer esl_test');
      assert.equal(c.accept, 'text/event-stream');
    }
    assert.equal(easel.sseAvailable, true);
  });

  it('a job that fails on the stream throws EaselJobFailedError with the job\'s error code', async () => {
    const easel = new Easel({ apiKey: 'esl_test', baseUrl: base });
    await assert.rejects(easel.waitForJob(FAILED_ID), (e: unknown) => {
      assert.ok(e instanceof EaselJobFailedError);
      assert.equal(e.code, 'content_rejected');
      assert.equal(e.job.status, 'failed');
      return true;
    });
  });

  it('falls back to polling when the server has no event stream (404), and remembers it', async () => {
    eventsMode = 'none';
    polls = 0;
    const before = connections.length;
    const easel = new Easel({ apiKey: 'esl_test', baseUrl: base });
    const seen: number[] = [];
    const final = await easel.waitForJob(JOB_ID, { pollIntervalMs: 5, onProgress: (j) => seen.push(j.scenes_completed) });
    assert.equal(final.status, 'completed');
    assert.deepEqual(seen, [1, 2, 4]);
    assert.equal(easel.sseAvailable, false);
    assert.equal(connections.length, before);
    polls = 0;
    await easel.waitForJob(JOB_ID, { pollIntervalMs: 5 });
    assert.equal(polls, 3, 'the second wait polls at once, without asking for the stream again');
  });
});
