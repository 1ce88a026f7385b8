import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { EaselProcess, MODE, waitFor } from '../helpers/server.js';
import { rawRequest } from '../helpers/raw-http.js';

/**
 * A body the server refuses without reading it (src/api/unread-body.ts): a 20 MiB body to a 1 MiB
 * route. Every client must read the 413 in the error shape, not a reset (EPIPE, ECONNRESET), and
 * the server must not read (let alone hold) the 20 MiB: it drains at most
 * EASEL_REFUSED_BODY_DRAIN_BYTES (4 MiB) after answering, then stops reading and closes.
 * Each client is tried a few times: the reset this replaces depended on timing.
 */
const execFileP = promisify(execFile);
const MiB = 1024 * 1024;
const DRAIN_BYTES = 4 * MiB;
/** Reading stops after the chunk that crosses the bound, plus what was already buffered. */
const DRAIN_SLACK = MiB;
const TRIES = 3;

interface Seen {
  status: number;
  requestId: string | undefined;
  body: any;
}

function assertRefused(seen: Seen, what: string): void {
  const show = `${what}: ${seen.status} ${JSON.stringify(seen.body)}`;
  assert.equal(seen.status, 413, show);
  assert.equal(seen.body?.error, 'payload_too_large', show);
  assert.equal(typeof seen.body?.message, 'string', show);
  assert.ok(seen.requestId, `X-Request-Id: ${show}`);
  assert.equal(seen.body.request_id, seen.requestId, `the body names the request id of its header: ${show}`);
}

/** Peak resident memory of a process (Linux); null where /proc is not there. */
function peakRssBytes(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

describe(`a body refused before it is read (${MODE})`, () => {
  let srv: EaselProcess;
  let key: string;
  let dir: string;
  let jsonFile: string;
  let imageFile: string;
  let json: Buffer<ArrayBuffer>;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_MAX_BODY_BYTES: String(MiB), EASEL_MAX_UPLOAD_BYTES: String(MiB) } });
    key = await srv.createKey('refused-body', '1');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-refused-'));
    json = Buffer.from(JSON.stringify({ prompt: 'x'.repeat(20 * MiB) }));
    jsonFile = path.join(dir, 'body.json');
    fs.writeFileSync(jsonFile, json);
    // Not an image, which does not matter: the upload is refused on its size before it is read.
    imageFile = path.join(dir, 'big.png');
    fs.writeFileSync(imageFile, Buffer.alloc(20 * MiB, 7));
  });
  after(async () => {
    await srv?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The server's account of the drain behind one answer (logged once the socket is done with). */
  const drainOf = (requestId: string) =>
    waitFor(async () => {
      const line = srv.logs.find((l) => l.includes(requestId) && l.includes('unread request body discarded'));
      return line ? (JSON.parse(line) as { discarded_bytes: number; outcome: string; limit_reached: boolean }) : null;
    }, 15_000);

  const assertBoundedDrain = async (requestId: string, what: string) => {
    const d = await drainOf(requestId);
    assert.ok(d.discarded_bytes <= DRAIN_BYTES + DRAIN_SLACK, `${what}: the server read ${d.discarded_bytes} bytes of a refused body (${JSON.stringify(d)})`);
    assert.notEqual(d.outcome, 'complete', `${what}: the 20 MiB body was not read whole`);
  };

  const viaFetch = async (p: string, body: BodyInit, headers: Record<string, string>): Promise<Seen> => {
    const res = await fetch(srv.url(p), { method: 'POST', headers: { authorization: `Bearer ${key}`, ...headers }, body });
    return { status: res.status, requestId: res.headers.get('x-request-id') ?? undefined, body: await res.json() };
  };

  /** curl as a user runs it (it sends `Expect: 100-continue` for a body this size unless told not to). */
  const viaCurl = async (p: string, args: string[]): Promise<Seen & { headers: string }> => {
    const bodyFile = path.join(dir, `answer-${Math.random().toString(16).slice(2)}.json`);
    const { stdout } = await execFileP('curl', ['-sS', '-D', '-', '-o', bodyFile, '-H', `authorization: Bearer ${key}`, ...args, srv.url(p)]);
    // With Expect: 100-continue the header dump holds the interim 100 first; the last block is the answer.
    const blocks = stdout.split(/\r?\n\r?\n/).filter((b) => b.startsWith('HTTP/'));
    const last = blocks[blocks.length - 1] ?? '';
    const status = Number(/^HTTP\/\S+ (\d{3})/.exec(last)?.[1]);
    const requestId = /^x-request-id:\s*(\S+)/im.exec(last)?.[1];
    return { status, requestId, body: JSON.parse(fs.readFileSync(bodyFile, 'utf8')), headers: last };
  };

  // The drains are checked after the tries: a client that does not hang up keeps its drain open
  // until the 5 s time bound, and those waits overlap instead of adding up.
  it('a 20 MiB JSON body to a 1 MiB route: fetch (undici) sees the 413; the server drains a bounded part of it', async () => {
    const drains: Promise<void>[] = [];
    for (let i = 0; i < TRIES; i++) {
      const seen = await viaFetch('/v1/generate/image', json, { 'content-type': 'application/json' });
      assertRefused(seen, `fetch, try ${i + 1}`);
      drains.push(assertBoundedDrain(seen.requestId!, `fetch, try ${i + 1}`));
    }
    await Promise.all(drains);
  });

  it('a 20 MiB JSON body to a 1 MiB route: curl sees the 413 (with and without Expect: 100-continue) and is told the connection closes', async () => {
    const drains: Promise<void>[] = [];
    for (let i = 0; i < TRIES; i++) {
      for (const expect of [[], ['-H', 'Expect:']]) {
        const what = `curl${expect.length ? ' without Expect' : ''}, try ${i + 1}`;
        const seen = await viaCurl('/v1/generate/image', ['-H', 'content-type: application/json', '--data-binary', `@${jsonFile}`, ...expect]);
        assertRefused(seen, what);
        assert.match(seen.headers, /^connection:\s*close/im, what);
        drains.push(assertBoundedDrain(seen.requestId!, what));
      }
    }
    await Promise.all(drains);
  });

  it('a 20 MiB upload over a 1 MiB upload limit: fetch and curl see the 413', async () => {
    const drains: Promise<void>[] = [];
    for (let i = 0; i < TRIES; i++) {
      const form = new FormData();
      form.append('image', new Blob([fs.readFileSync(imageFile)], { type: 'image/png' }), 'big.png');
      const byFetch = await viaFetch('/v1/upload', form, {});
      assertRefused(byFetch, `upload with fetch, try ${i + 1}`);
      drains.push(assertBoundedDrain(byFetch.requestId!, `upload with fetch, try ${i + 1}`));
      const byCurl = await viaCurl('/v1/upload', ['-F', `image=@${imageFile};type=image/png`]);
      assertRefused(byCurl, `upload with curl, try ${i + 1}`);
      drains.push(assertBoundedDrain(byCurl.requestId!, `upload with curl, try ${i + 1}`));
    }
    await Promise.all(drains);
  });

  it('a client that writes all 20 MiB regardless (node:http) still reads the 413; the server stops reading at the bound and holds none of it', async () => {
    const peakBefore = peakRssBytes(srv.child!.pid!);
    const requestIds: string[] = [];
    for (let i = 0; i < TRIES; i++) {
      const res = await rawRequest(srv.baseUrl, {
        method: 'POST',
        path: '/v1/generate/image',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: json,
      });
      const seen = { status: res.status, requestId: res.headers['x-request-id'] as string | undefined, body: res.json };
      assertRefused(seen, `node:http, try ${i + 1}`);
      requestIds.push(seen.requestId!);
    }
    for (const d of await Promise.all(requestIds.map(drainOf))) {
      assert.ok(d.limit_reached, `the server stopped reading at the bound: ${JSON.stringify(d)}`);
      assert.ok(d.discarded_bytes <= DRAIN_BYTES + DRAIN_SLACK, JSON.stringify(d));
    }
    const peakAfter = peakRssBytes(srv.child!.pid!);
    if (peakBefore !== null && peakAfter !== null) {
      // Three 20 MiB bodies went past; buffering even one would raise the peak by its size.
      assert.ok(peakAfter - peakBefore < 20 * MiB, `peak RSS grew by ${((peakAfter - peakBefore) / MiB).toFixed(1)} MiB`);
    }
  });

  it('a body just over the limit (1.1 MB, as the fuzz test sends) is drained whole: the client finishes writing and reads the 413 without a write error', async () => {
    const body = Buffer.from(JSON.stringify({ prompt: 'y'.repeat(1_100_000) }));
    for (let i = 0; i < TRIES; i++) {
      const res = await rawRequest(srv.baseUrl, {
        method: 'POST',
        path: '/v1/generate/image',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      });
      assertRefused({ status: res.status, requestId: res.headers['x-request-id'] as string | undefined, body: res.json }, `1.1 MB, try ${i + 1}`);
      assert.equal(res.writeError, undefined, 'the whole body was taken');
      const d = await drainOf(res.headers['x-request-id'] as string);
      assert.equal(d.outcome, 'complete', JSON.stringify(d));
    }
  });
});
