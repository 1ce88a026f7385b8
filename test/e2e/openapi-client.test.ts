import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import sharp from 'sharp';
import { EaselProcess, MODE, ROOT, api } from '../helpers/server.js';
import { operationsOf } from '../helpers/openapi.js';

/**
 * A client generated from the served document with standard tools: openapi-typescript turns
 * /v1/openapi.json into types, tsc (strict) compiles a client written against them
 * (test/openapi-client/exercise.ts, openapi-fetch underneath), and that client makes at least one
 * request of every operation the document lists. The server checks each of its answers against
 * the same document (src/api/response-check.ts), so a type the document promises and the server
 * breaks fails here twice: at compile time in the client, and at stop() in the server.
 */
const DIR = path.join(ROOT, 'test', 'openapi-client');
const GENERATED = path.join(DIR, 'generated', 'api.d.ts');
const EXERCISE = path.join(DIR, 'exercise.ts');

/** test/openapi-client/exercise.ts's entry point, as seen from here. */
type Exercise = (f: { baseUrl: string; key: string; png: Uint8Array<ArrayBuffer>; webhookUrl: string }) => Promise<{ op: string; status: number }[]>;

/** The declaration file of the package Node resolves from here, so tsc checks against the copy that runs. */
function typesOf(name: string): string {
  const entry = fileURLToPath(import.meta.resolve(name));
  const dts = entry.replace(/\.(m|c)?js$/, (_m, k: string | undefined) => `.d.${k ?? ''}ts`);
  assert.ok(fs.existsSync(dts), `no declarations beside ${entry}`);
  return dts;
}

function typeCheck(file: string): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [path.join(ROOT, 'node_modules', '@types')],
    paths: { 'openapi-fetch': [typesOf('openapi-fetch')] },
  };
  const program = ts.createProgram([file], options);
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => ts.formatDiagnostic(d, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' }));
}

describe(`a client generated from /v1/openapi.json (${MODE})`, () => {
  let srv: EaselProcess;
  let key: string;
  let receiver: http.Server;
  let webhookUrl: string;
  let requests = 0;

  before(async () => {
    // Webhooks go to a loopback receiver (test mode allows http on loopback).
    srv = await EaselProcess.start({ env: { EASEL_ALLOW_LOOPBACK_URLS: 'true', EASEL_WORKER_CONCURRENCY: '2' } });
    key = await srv.createKey('openapi-client', '100');
    receiver = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    webhookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`;
  });
  after(async () => {
    await new Promise<void>((r) => receiver.close(() => r()));
    await srv.stop();
    // The server checked its answers against the document, and found every one described.
    const checks = srv.responseChecks();
    assert.ok(requests > 0 && checks.some((c) => c.checked >= requests), `the response check saw the client's ${requests} requests: ${JSON.stringify(checks)}`);
    assert.deepEqual(checks.map((c) => c.violations), checks.map(() => 0));
  });

  it('generates types, compiles a strict client against them, and calls every operation', { timeout: 300_000 }, async () => {
    const doc = (await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body;
    fs.mkdirSync(path.dirname(GENERATED), { recursive: true });
    fs.writeFileSync(GENERATED, astToString(await openapiTS(doc)));

    const errors = typeCheck(EXERCISE);
    assert.deepEqual(errors, [], `the client does not compile against the generated types:\n${errors.join('\n')}`);

    // Loaded by path, not imported: its types exist only now (so `npm run typecheck` leaves it out).
    const { exercise } = (await import(pathToFileURL(EXERCISE).href)) as { exercise: Exercise };
    const png = new Uint8Array(await sharp({ create: { width: 48, height: 32, channels: 3, background: { r: 200, g: 80, b: 40 } } }).png().toBuffer());
    const calls = await exercise({ baseUrl: srv.baseUrl, key, png, webhookUrl });
    // The event stream and MCP's answer are written past fastify's hooks (hijacked), so the check does not see them.
    requests = calls.filter((c) => c.op !== 'GET /v1/jobs/{id}/events' && c.op !== 'POST /mcp').length;

    const ops = operationsOf(doc).map((o) => `${o.method} ${o.template}`);
    const called = new Set(calls.map((c) => c.op));
    assert.deepEqual(ops.filter((o) => !called.has(o)), [], 'every operation of the document was called');
    // Everything succeeded but the requests whose documented error was the point: a retry of a
    // completed story's scene (409), a cancel that may find its story already ended (409),
    // GET/DELETE /mcp (405: the MCP endpoint has no sessions), and the previews of a finished job (404, 403).
    for (const c of calls) {
      if (c.op === 'POST /v1/jobs/{id}/scenes/{n}/retry') assert.equal(c.status, 409);
      else if (c.op === 'POST /v1/jobs/{id}/cancel') assert.ok([200, 202, 409].includes(c.status), `${c.op}: ${c.status}`);
      else if (c.op === 'GET /mcp' || c.op === 'DELETE /mcp') assert.equal(c.status, 405, `${c.op}: the MCP endpoint is stateless`);
      else if (c.op === 'GET /v1/jobs/{id}/preview') assert.equal(c.status, 404, `${c.op}: a finished job has no preview`);
      else if (c.op === 'GET /v1/previews/{job_id}/{file}') assert.equal(c.status, 403, `${c.op}: a forged signature`);
      else assert.ok(c.status >= 200 && c.status < 300, `${c.op}: ${c.status}`);
    }
  });
});
