/**
 * The anchors' server, in a process of its own: the same fastify (and @fastify/static, configured as
 * in src/api/server.ts) with none of Easel's work — no logging, hooks, auth, database or signatures.
 *   GET /job      the JSON body in ANCHOR_JSON_FILE, from memory
 *   GET /files/*  files under ANCHOR_STATIC_ROOT, through @fastify/static's sendFile
 *   GET /floor/jobs/:id  with ANCHOR_FLOOR (JSON, see floor-route.ts): a status poll's unavoidable work
 * Prints {"port": N} on stdout once listening on 127.0.0.1.
 */
import fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import Fastify from 'fastify';
import fastifyStatic from '@fastify/static';
import { installFloorRoute, type FloorConfig } from './floor-route.js';

async function main(): Promise<void> {
  const app = Fastify({ logger: false });
  const body = process.env.ANCHOR_JSON_FILE ? fs.readFileSync(process.env.ANCHOR_JSON_FILE, 'utf8') : '{}';
  app.get('/job', async (_req, reply) => reply.header('content-type', 'application/json; charset=utf-8').send(body));
  const root = process.env.ANCHOR_STATIC_ROOT;
  if (root) {
    await app.register(fastifyStatic, { root, serve: false, etag: true, lastModified: true, cacheControl: false, index: false, dotfiles: 'deny' });
    app.get('/files/*', async (req, reply) => reply.sendFile((req.params as { '*': string })['*'], root));
  }
  const closeFloor = process.env.ANCHOR_FLOOR ? await installFloorRoute(app, JSON.parse(process.env.ANCHOR_FLOOR) as FloorConfig) : async () => undefined;
  app.addHook('onClose', closeFloor);
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ port: (app.server.address() as { port: number }).port })}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

export interface Anchor {
  baseUrl: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the anchor server as a child process (node + tsx, like the bench itself). */
export async function startAnchor(opts: { jsonFile?: string; staticRoot?: string; floor?: FloorConfig; nodeOptions?: string }): Promise<Anchor> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', self], {
    cwd: path.resolve(path.dirname(self), '..', '..'),
    env: {
      ...process.env,
      ANCHOR_MAIN: '1',
      ...(opts.jsonFile ? { ANCHOR_JSON_FILE: opts.jsonFile } : {}),
      ...(opts.staticRoot ? { ANCHOR_STATIC_ROOT: opts.staticRoot } : {}),
      ...(opts.floor ? { ANCHOR_FLOOR: JSON.stringify(opts.floor) } : {}),
      NODE_OPTIONS: opts.nodeOptions ?? '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`anchor server did not start: ${err}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /\{"port":(\d+)\}/.exec(buf);
      if (m) {
        clearTimeout(t);
        child.stdout!.removeAllListeners('data');
        child.stdout!.on('data', () => undefined); // drained, as the bench drains Easel's log
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`anchor server exited ${code}: ${err}`));
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

if (process.env.ANCHOR_MAIN === '1' && process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
