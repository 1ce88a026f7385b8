/**
 * What ordinary clients see when they send a 20 MiB body to a route that takes 1 MiB (a JSON create
 * over EASEL_MAX_BODY_BYTES, an upload over EASEL_MAX_UPLOAD_BYTES): the 413, or a connection
 * error (EPIPE, ECONNRESET). Clients: curl (with and without `Expect: 100-continue`), fetch
 * (Node's bundled undici), node:http (test/helpers/raw-http.ts) and the SDK. Also reports how the
 * server's drains ended (src/api/unread-body.ts) and the most it read of one refused body.
 *   npm run build && node --import tsx bench/refused-body-clients.ts      (REFUSED_TRIES=20 per client and route)
 * The figures are in docs/RELIABILITY.md ("Refused bodies").
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { EaselProcess, waitFor } from '../test/helpers/server.js';
import { multipart, rawRequest } from '../test/helpers/raw-http.js';
import { Easel } from '../src/sdk/index.js';

const execFileP = promisify(execFile);
const MiB = 1024 * 1024;
const TRIES = Number(process.env.REFUSED_TRIES ?? 20);

/** The innermost error code (fetch wraps the socket error as its cause). */
function codeOf(e: unknown): string {
  let c = e as { cause?: unknown; code?: string; message?: string } | undefined;
  while (c?.cause) c = c.cause as typeof c;
  return c?.code ?? c?.message ?? String(e);
}

// A client library that leaves a socket error unhandled crashes its process: that is a failure too.
let uncaught = 0;
process.on('uncaughtException', () => uncaught++);

const srv = await EaselProcess.start({ env: { EASEL_MAX_BODY_BYTES: String(MiB), EASEL_MAX_UPLOAD_BYTES: String(MiB) } });
const key = await srv.createKey('refused-body-bench', '1');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-refused-'));
const json = Buffer.from(JSON.stringify({ prompt: 'x'.repeat(20 * MiB) }));
const image = Buffer.alloc(20 * MiB, 7);
const form = multipart([{ name: 'image', filename: 'big.png', contentType: 'image/png', data: image }]);
fs.writeFileSync(path.join(dir, 'body.json'), json);
fs.writeFileSync(path.join(dir, 'body.multipart'), form.body);
const sdk = new Easel({ apiKey: key, baseUrl: srv.baseUrl, maxRetries: 0 });
const auth = { authorization: `Bearer ${key}` };

type Client = (route: 'json' | 'upload') => Promise<string>;
const curl = (extra: string[]): Client => async (route) => {
  const [file, type, p] = route === 'json' ? ['body.json', 'application/json', '/v1/generate/image'] : ['body.multipart', form.contentType, '/v1/upload'];
  try {
    const { stdout } = await execFileP('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', `authorization: Bearer ${key}`, '-H', `content-type: ${type}`, ...extra, '--data-binary', `@${path.join(dir, file)}`, srv.url(p)]);
    return stdout;
  } catch (e) {
    return `curl exit ${(e as { code?: number }).code}`;
  }
};
const clients: Record<string, Client> = {
  curl: curl([]),
  'curl, no Expect': curl(['-H', 'Expect:']),
  fetch: async (route) => {
    try {
      const res = route === 'json'
        ? await fetch(srv.url('/v1/generate/image'), { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: new Uint8Array(json) })
        : await fetch(srv.url('/v1/upload'), { method: 'POST', headers: auth, body: (() => { const f = new FormData(); f.append('image', new Blob([new Uint8Array(image)], { type: 'image/png' }), 'big.png'); return f; })() });
      await res.arrayBuffer();
      return String(res.status);
    } catch (e) {
      return codeOf(e);
    }
  },
  'node:http': async (route) => {
    try {
      const [p, type, body] = route === 'json' ? ['/v1/generate/image', 'application/json', json] : ['/v1/upload', form.contentType, form.body];
      return String((await rawRequest(srv.baseUrl, { method: 'POST', path: p, headers: { ...auth, 'content-type': type }, body })).status);
    } catch (e) {
      return codeOf(e);
    }
  },
  SDK: async (route) => {
    try {
      if (route === 'json') await sdk.generateImage({ prompt: 'x'.repeat(20 * MiB) } as Parameters<Easel['generateImage']>[0]);
      else await sdk.upload(new Uint8Array(image));
      return 'accepted?!';
    } catch (e) {
      const status = (e as { status?: number }).status;
      return status ? String(status) : codeOf(e);
    }
  },
};

const seen: Record<string, Record<string, number>> = {};
for (const route of ['json', 'upload'] as const) {
  for (const [name, client] of Object.entries(clients)) {
    const row = (seen[`${route}, ${name}`] = {} as Record<string, number>);
    for (let i = 0; i < TRIES; i++) {
      const before = uncaught;
      const what = await client(route);
      const k = uncaught > before ? `${what} + uncaught socket error` : what;
      row[k] = (row[k] ?? 0) + 1;
    }
  }
}
// Drains that end on the time bound log 5 s after their answer.
const refused = () => srv.logs.filter((l) => l.includes('"request rejected"') && l.includes('payload_too_large')).length;
const drains = () => srv.logs.filter((l) => l.includes('unread request body discarded')).map((l) => JSON.parse(l) as { discarded_bytes: number; outcome: string; limit_reached: boolean });
await waitFor(async () => drains().length >= refused(), 10_000).catch(() => undefined);
const outcomes: Record<string, number> = {};
for (const d of drains()) outcomes[`${d.outcome}${d.limit_reached ? ' (read up to the bound)' : ''}`] = (outcomes[`${d.outcome}${d.limit_reached ? ' (read up to the bound)' : ''}`] ?? 0) + 1;

console.log(`${TRIES} tries per client and route; what each client saw:`);
for (const [k, v] of Object.entries(seen)) console.log(`  ${k.padEnd(24)} ${JSON.stringify(v)}`);
console.log(`refused: ${refused()}; drains logged: ${drains().length} ${JSON.stringify(outcomes)}`);
console.log(`most read of one refused body: ${Math.max(0, ...drains().map((d) => d.discarded_bytes))} bytes`);
await srv.stop();
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
