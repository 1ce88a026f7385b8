/**
 * Drivers that take one dependency of an Easel server away and give it back, for
 * test/e2e/dependency-faults.test.ts and `npm run chaos -- --faults …` (scripts/fault-run.ts).
 * Each one owns what it disturbs: the shared PostgreSQL on :5432 and the shared Swift on :18380 are
 * used by every other test and are never touched. So the database that restarts is a throwaway
 * cluster of our own, the S3 outage is made at a loopback proxy we put in front of Swift, Redis is a
 * server of our own, the full disk is a tmpfs mounted for the run. Every process is stopped by its
 * PID and every mount is unmounted by `close()`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import pg from 'pg';

const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP port nothing listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not exit in ${timeoutMs} ms`);
    await sleep(50);
  }
}

// ---- PostgreSQL: a cluster of our own ----------------------------------------------------------

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const p = path.join(root, v, 'bin', name);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`no PostgreSQL ${name} under ${root}`);
}

/**
 * A throwaway PostgreSQL cluster (initdb into a temp dir, as the postgres user, on a free port).
 * `down()` + `up()` is a fast shutdown (every session terminated, 57P01) and a start again, as an
 * operator's `pg_ctl restart -m fast` or a crashed-and-restarted server would look to clients;
 * `freeze()` + `thaw()` is a server that hangs without closing anything (SIGSTOP / SIGCONT).
 */
export class OwnPostgres {
  private postmaster: ChildProcess | null = null;
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async start(): Promise<OwnPostgres> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-fault-pg-'));
    fs.chmodSync(dir, 0o755);
    const data = path.join(dir, 'data');
    fs.mkdirSync(data);
    await execFileP('chown', ['-R', 'postgres:postgres', dir]);
    await execFileP('runuser', ['-u', 'postgres', '--', pgBin('initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    const pgc = new OwnPostgres(dir, await freePort());
    await pgc.up();
    return pgc;
  }

  /** The postmaster's PID, from its pid file (runuser forks it). */
  private pid(): number | null {
    const f = path.join(this.dir, 'data', 'postmaster.pid');
    if (!fs.existsSync(f)) return null;
    const pid = Number(fs.readFileSync(f, 'utf8').split('\n')[0]);
    return pid > 0 && alive(pid) ? pid : null;
  }

  async up(): Promise<void> {
    const child = spawn(
      'runuser',
      ['-u', 'postgres', '--', pgBin('postgres'), '-D', path.join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=60', '-c', 'shared_buffers=16MB'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    this.postmaster = child;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const c = new pg.Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 1000 });
      try {
        await c.connect();
        await c.query('select 1');
        await c.end();
        return;
      } catch {
        await c.end().catch(() => undefined);
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`own PostgreSQL did not start:\n${err}`);
        await sleep(100);
      }
    }
  }

  /** Fast shutdown (SIGINT to the postmaster): sessions are terminated, new connections refused. */
  async down(): Promise<void> {
    const pid = this.pid();
    if (pid === null) return;
    process.kill(pid, 'SIGINT');
    await waitGone(pid, 30_000);
    if (this.postmaster && this.postmaster.exitCode === null) await new Promise((r) => this.postmaster!.once('exit', r));
    this.postmaster = null;
  }

  /**
   * The cluster's processes: the postmaster (its pid file) and every process whose parent it is
   * (backends, checkpointer, walwriter, autovacuum, …), read from /proc — by PID, never by name.
   */
  private processes(): number[] {
    const pm = this.pid();
    if (pm === null) return [];
    const children: number[] = [];
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        // stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses, so split after the last ')'.
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pm) children.push(Number(d));
      } catch {
        // gone meanwhile
      }
    }
    return [pm, ...children];
  }

  private frozen: number[] = [];

  /**
   * The server hangs without closing a connection, as a SIGSTOPped host or a network partition
   * looks to its clients: the postmaster first (so it forks no new backend), then every child,
   * SIGSTOP. Connections stay open, sent queries get no answer, new connects wait in the backlog.
   */
  freeze(): number {
    const pm = this.pid();
    if (pm === null) throw new Error('own PostgreSQL is not running');
    process.kill(pm, 'SIGSTOP');
    this.frozen = this.processes();
    for (const p of this.frozen) if (p !== pm) process.kill(p, 'SIGSTOP');
    return this.frozen.length;
  }

  /** SIGCONT to every process `freeze()` stopped, children first. */
  thaw(): void {
    const procs = this.frozen;
    this.frozen = [];
    for (const p of procs.slice(1)) {
      try {
        process.kill(p, 'SIGCONT');
      } catch {
        // exited meanwhile
      }
    }
    if (procs[0] !== undefined) process.kill(procs[0], 'SIGCONT');
    // runuser (our own child, the postmaster's parent) stops itself when it sees its child stopped,
    // as su does, and resumes only when continued: left stopped it never reaps the postmaster, and
    // `down()` would wait for a zombie.
    const wrapper = this.postmaster?.pid;
    if (wrapper !== undefined && this.postmaster!.exitCode === null) process.kill(wrapper, 'SIGCONT');
  }

  async createDatabase(name: string): Promise<string> {
    const c = new pg.Client({ connectionString: this.adminUrl });
    await c.connect();
    try {
      await c.query(`CREATE DATABASE ${name}`);
    } finally {
      await c.end();
    }
    return `postgres://postgres@127.0.0.1:${this.port}/${name}`;
  }

  async close(): Promise<void> {
    this.thaw();
    await this.down().catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- S3: a proxy in front of the shared Swift ----------------------------------------------------

/**
 * A loopback TCP proxy in front of the S3 server (Swift is shared by every test, so it is never
 * stopped). `cut()` closes the listener and destroys every connection: a client's connect is
 * refused exactly as if the server were down. `restore()` listens on the same port again.
 */
export class S3Proxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(targetUrl: string): Promise<S3Proxy> {
    const u = new URL(targetUrl);
    const p = new S3Proxy(await freePort(), { host: u.hostname, port: Number(u.port || 80) });
    await p.restore();
    return p;
  }

  async restore(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  async close(): Promise<void> {
    await this.cut();
  }
}

// ---- Redis: a server of our own ------------------------------------------------------------------

/** redis-server on a free loopback port, no persistence; stopped and started again by PID. */
export class OwnRedis {
  private child: ChildProcess | null = null;
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OwnRedis> {
    const r = new OwnRedis(await freePort());
    await r.up();
    return r;
  }

  async up(): Promise<void> {
    const child = spawn('/usr/bin/redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (await this.ping()) return;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('own redis-server did not start');
      await sleep(50);
    }
  }

  /** One raw RESP command over a fresh connection (no client library state to confuse the test). */
  async command(...args: string[]): Promise<string | null> {
    return new Promise((resolve) => {
      const s = net.connect(this.port, '127.0.0.1');
      let buf = '';
      s.setTimeout(2000, () => s.destroy());
      s.on('error', () => resolve(null));
      s.on('close', () => resolve(buf || null));
      s.on('connect', () => s.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
      s.on('data', (d) => {
        buf += d.toString();
        if (buf.endsWith('\r\n')) s.end();
      });
    });
  }

  async ping(): Promise<boolean> {
    return (await this.command('PING'))?.startsWith('+PONG') ?? false;
  }

  /** How many keys the rate limiter (namespace `easel-rl:`) has written since the server started. */
  async rateLimitKeys(): Promise<number> {
    const r = (await this.command('KEYS', 'easel-rl:*')) ?? '';
    const m = /^\*(\d+)/.exec(r);
    return m ? Number(m[1]) : 0;
  }

  async down(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child?.pid || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(child.pid, 'SIGTERM');
    await exited;
  }

  async close(): Promise<void> {
    await this.down().catch(() => undefined);
  }
}

// ---- Disk: a small tmpfs as the data directory ---------------------------------------------------

/** A tmpfs of `sizeMb` mounted on a fresh directory; `fill()` takes every free byte, `free()` gives them back. */
export class SmallDisk {
  private readonly filler: string;
  private constructor(readonly dir: string) {
    this.filler = path.join(dir, 'filler.bin');
  }

  static async mount(sizeMb = 64): Promise<SmallDisk> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-fault-disk-'));
    await execFileP('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]);
    return new SmallDisk(dir);
  }

  freeBytes(): number {
    const st = fs.statfsSync(this.dir);
    return st.bavail * st.bsize;
  }

  /** Writes one file until the filesystem says ENOSPC. */
  fill(): void {
    const fd = fs.openSync(this.filler, 'a');
    const chunk = Buffer.alloc(1 << 20, 0x5a);
    try {
      for (;;) {
        const free = this.freeBytes();
        if (free <= 0) break;
        try {
          fs.writeSync(fd, free >= chunk.length ? chunk : chunk.subarray(0, free));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  free(): void {
    fs.rmSync(this.filler, { force: true });
  }

  async close(): Promise<void> {
    this.free();
    // Lazy: a process that still had a file open there (it should not) cannot keep the mount.
    await execFileP('umount', ['-l', this.dir]).catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- SQLite: another connection holding the write lock -------------------------------------------

/** A second connection to the server's SQLite file holding `BEGIN EXCLUSIVE` until `release()`. */
export class SqliteLock {
  private constructor(private readonly db: SQLite.Database) {}

  static take(file: string): SqliteLock {
    const db = new SQLite(file, { fileMustExist: true, timeout: 10_000 });
    db.exec('BEGIN EXCLUSIVE');
    return new SqliteLock(db);
  }

  release(): void {
    if (!this.db.open) return;
    this.db.exec('ROLLBACK');
    this.db.close();
  }
}
