import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import crypto from 'node:crypto';
import pg from 'pg';

const execFileP = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'easel.js');

// The servers these tests start run dist/: refuse a build older than its sources instead of
// silently testing old code (scripts/run-tests.mjs rebuilds what is stale before it runs).
let buildChecked = false;
async function assertFreshBuild(): Promise<void> {
  if (buildChecked) return;
  const { staleBuilds } = (await import(path.join(ROOT, 'scripts', 'build-freshness.mjs'))) as { staleBuilds(root: string): { what: string; script: string }[] };
  const stale = staleBuilds(ROOT);
  if (stale.length > 0) throw new Error(`${stale.map((s) => s.what).join(' and ')} older than the sources: run ${stale.map((s) => `npm run ${s.script}`).join(' && ')} (or node scripts/run-tests.mjs FILE, which does)`);
  buildChecked = true;
}

export interface ServerOptions {
  env?: Record<string, string>;
  dataDir?: string;
  args?: string[];
  /** `serve` (default) or `worker` (workers only, no HTTP). */
  command?: 'serve' | 'worker';
  /** Run against the same database, bucket and data directory as this process (multi-process tests). */
  sharedWith?: EaselProcess;
}

/**
 * The suite runs twice in CI: EASEL_TEST_MODE=embedded (SQLite, local disk, in-process queue) and
 * EASEL_TEST_MODE=scaleout (PostgreSQL + pg-boss + S3 on Swift). Each server gets its own
 * database and bucket, so test files stay independent.
 */
export const MODE: 'embedded' | 'scaleout' = process.env.EASEL_TEST_MODE === 'scaleout' ? 'scaleout' : 'embedded';
export const PG_ADMIN_URL = process.env.EASEL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const S3_ENDPOINT = process.env.EASEL_TEST_S3_ENDPOINT ?? 'http://127.0.0.1:18380';
/**
 * Under node's test runner every server checks each response it gives against the OpenAPI document
 * it serves (src/api/response-check.ts) and `stop()` fails on any response the document does not
 * describe. Benchmarks, which use these helpers outside the runner, measure without the check.
 */
export const VALIDATE_RESPONSES = process.env.NODE_TEST_CONTEXT !== undefined || process.env.EASEL_TEST_VALIDATE_RESPONSES === '1';
export const S3_CREDS = { accessKeyId: process.env.EASEL_TEST_S3_KEY ?? 'test:tester', secretAccessKey: process.env.EASEL_TEST_S3_SECRET ?? 'testing' };

export async function createDatabase(): Promise<string> {
  const name = `easel_t_${crypto.randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * A real `easel serve` process on a loopback port chosen by the OS, with its own data directory.
 * Tests talk to it over HTTP only, exactly as a client would.
 */
export class EaselProcess {
  child: ChildProcess | null = null;
  baseUrl = '';
  logs: string[] = [];
  exited: Promise<number | null> = Promise.resolve(null);

  databaseUrl: string | null = null;
  bucket: string | null = null;
  private owner = true;

  constructor(
    readonly dataDir: string,
    private readonly env: Record<string, string> = {},
    private readonly args: string[] = [],
    readonly command: 'serve' | 'worker' = 'serve',
  ) {}

  static async start(opts: ServerOptions = {}): Promise<EaselProcess> {
    const dataDir = opts.sharedWith?.dataDir ?? opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'easel-test-'));
    const p = new EaselProcess(dataDir, opts.env ?? {}, opts.args ?? [], opts.command ?? 'serve');
    if (MODE === 'scaleout') {
      if (opts.sharedWith) {
        p.databaseUrl = opts.sharedWith.databaseUrl;
        p.bucket = opts.sharedWith.bucket;
        p.owner = false;
      } else {
        p.databaseUrl = await createDatabase();
        p.bucket = `easel-${crypto.randomBytes(6).toString('hex')}`;
      }
    }
    await p.boot();
    return p;
  }

  get processEnv(): NodeJS.ProcessEnv {
    const scaleout: Record<string, string> =
      MODE === 'scaleout'
        ? {
            EASEL_DATABASE_URL: this.databaseUrl!,
            EASEL_DATABASE_POOL_SIZE: '6',
            EASEL_S3_ENDPOINT: S3_ENDPOINT,
            EASEL_S3_BUCKET: this.bucket!,
            EASEL_S3_ACCESS_KEY_ID: S3_CREDS.accessKeyId,
            EASEL_S3_SECRET_ACCESS_KEY: S3_CREDS.secretAccessKey,
            EASEL_S3_FORCE_PATH_STYLE: 'true',
          }
        : {};
    return {
      ...process.env,
      EASEL_DATA_DIR: this.dataDir,
      EASEL_PORT: '0',
      EASEL_HOST: '127.0.0.1',
      EASEL_LOG_LEVEL: 'info',
      EASEL_SQLITE_SYNCHRONOUS: 'NORMAL',
      // Tests poll every 50 ms; the per-key request limit is exercised by test/e2e/abuse-limits.test.ts.
      EASEL_RATE_LIMIT_PER_MIN: '100000',
      // Tests send many missing and bad keys on purpose; the per-address limit is exercised by test/e2e/request-limits.test.ts.
      EASEL_AUTH_FAILURES_PER_MIN: '100000',
      ...(VALIDATE_RESPONSES ? { EASEL_VALIDATE_RESPONSES: '1' } : {}),
      ...scaleout,
      ...this.env,
    };
  }

  async boot(extraEnv: Record<string, string> = {}): Promise<void> {
    await assertFreshBuild();
    Object.assign(this.env, extraEnv);
    const child = spawn(process.execPath, [BIN, this.command, ...this.args], { env: this.processEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let buf = '';
    const ready = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL'); // never leave an orphan holding the test process open
        reject(new Error(`server did not start:\n${this.logs.join('\n')}`));
      }, 20_000);
      const onLine = (line: string) => {
        this.logs.push(line);
        if (line.includes('"easel listening"')) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { public_url: string }).public_url);
        } else if (line.includes('"easel worker running"')) {
          clearTimeout(timer);
          resolve('');
        }
      };
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      child.stderr!.on('data', (d: Buffer) => this.logs.push(d.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code} before listening:\n${this.logs.join('\n')}`));
      });
    });
    this.baseUrl = await ready;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null) return this.child?.exitCode ?? null;
    this.child.kill(signal);
    return this.exited;
  }

  /**
   * Stops the process (SIGTERM, drained) and drops its database when it owns one. Throws if any
   * process of this data directory gave a response the OpenAPI document does not describe.
   */
  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    if (this.owner && this.databaseUrl) await dropDatabase(this.databaseUrl).catch(() => undefined);
    const violations = this.responseViolations();
    if (violations.length > 0) {
      throw new Error(`${violations.length} response(s) not described by the OpenAPI document (${path.join(this.dataDir, 'response-violations.jsonl')}):\n${violations.slice(0, 10).join('\n')}`);
    }
  }

  /** Responses this data directory's servers gave that the OpenAPI document does not describe (one JSON line each). */
  responseViolations(): string[] {
    const file = path.join(this.dataDir, 'response-violations.jsonl');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  }

  /** What the response check counted, per server process that closed cleanly ({pid, checked, skipped, violations}). */
  responseChecks(): { pid: number; checked: number; skipped: number; violations: number }[] {
    const file = path.join(this.dataDir, 'response-checks.jsonl');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  }

  /** Runs an operator command (`easel keys …`) against this server's data directory. */
  async cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    try {
      const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], { env: this.processEnv });
      return { stdout, stderr, code: 0 };
    } catch (e) {
      const err = e as { stdout: string; stderr: string; code: number };
      return { stdout: err.stdout, stderr: err.stderr, code: err.code };
    }
  }

  /** Creates an account + key via the real CLI and returns the key (the CLI's last line). */
  async createKey(name: string, credits?: string): Promise<string> {
    const r = await this.cli(['keys', 'create', '--name', name, ...(credits ? ['--credits', credits] : [])]);
    if (r.code !== 0) throw new Error(`keys create failed: ${r.stderr}`);
    return r.stdout.trim().split('\n').pop()!;
  }

  url(p: string): string {
    return this.baseUrl + p;
  }
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One HTTP call over loopback; parses JSON when the server sends JSON. */
export async function api<T = any>(
  base: string,
  method: string,
  p: string,
  opts: { key?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string | Buffer } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  // fetch's BodyInit wants an ArrayBuffer-backed view; a Buffer may sit on a shared pool, so copy it.
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (opts.rawBody !== undefined) body = typeof opts.rawBody === 'string' ? opts.rawBody : new Uint8Array(opts.rawBody);
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + p, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

export async function download(url: string): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
