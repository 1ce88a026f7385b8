import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { JobFailure } from '../../errors.js';
import type { Encoded } from './types.js';
import type { OperationInput } from './run-operation.js';
import type { ChildReply, ChildRequest } from './child-protocol.js';
import { budgetExceeded } from './budgets.js';

export interface ChildPoolOptions {
  /** Children at most (EASEL_PROCESS_CONCURRENCY: one per free-lane slot). */
  size: number;
  timeoutMs: number;
  /** Resident memory of one child above which it is killed mid-operation. */
  memoryBytes: number;
  init: { dataDir: string; c2paCert: string | null; c2paKey: string | null };
  log: Logger;
}

/** How often a busy child's resident memory is read (a read of /proc costs microseconds; libvips can grow by ~100 MB between reads). */
const WATCH_MS = 50;
/** A child idle this long exits; the next operation starts a fresh one (~0.3 s). */
const IDLE_MS = 60_000;

const ENTRY = fileURLToPath(new URL(`./child-main.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url));
/**
 * `nice -n 19` execs node, so every thread of the child (V8's start before any of our code) runs at
 * the lowest priority from its first instruction. Where there is no `nice`, the child renices
 * itself as it starts (child-main.ts).
 */
const NICE = ['/usr/bin/nice', '/bin/nice'].find((p) => fs.existsSync(p)) ?? null;

interface Child {
  proc: ChildProcess;
  ready: Promise<void>;
  busy: boolean;
  idleTimer: NodeJS.Timeout | null;
}

/** Resident memory of a process from /proc (Linux), or null where there is none. */
export function residentBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * The processes free image work runs in (docs/DECISIONS.md, "Work isolation"): forked on demand,
 * at most `size`, one operation at a time each. An operation that runs past its time budget or
 * whose child grows past its memory budget is stopped by killing the child, which returns every
 * byte it held at once (freeing inside libvips could not be forced); the job fails with
 * `processing_budget_exceeded` and a fresh child serves the next one. A child that ends an
 * operation holding over half its budget is replaced too: glibc rarely gives freed memory back.
 */
export class ProcessChildPool {
  private readonly children = new Set<Child>();
  /** Children killed whose exit has not been seen yet: a replacement waits for them, so two never hold memory at once. */
  private readonly dying = new Set<Promise<void>>();
  private readonly waiting: ((c: Child) => void)[] = [];
  private nextId = 1;
  private stopped = false;

  constructor(private readonly opts: ChildPoolOptions) {}

  /** PIDs of the running children (metrics and tests sum the process tree). */
  pids(): number[] {
    return [...this.children].map((c) => c.proc.pid).filter((p): p is number => p !== undefined);
  }

  async run(req: OperationInput, signal: AbortSignal): Promise<Encoded> {
    const child = await this.acquire();
    try {
      await child.ready;
      return await this.runOn(child, req, signal);
    } finally {
      this.release(child);
    }
  }

  private spawn(): Child {
    const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
    const proc = NICE
      ? spawn(NICE, ['-n', '19', process.execPath, ...process.execArgv, ENTRY], { serialization: 'advanced', stdio })
      : fork(ENTRY, [], { serialization: 'advanced', stdio });
    const child: Child = { proc, busy: true, idleTimer: null, ready: Promise.resolve() };
    child.ready = new Promise<void>((resolve, reject) => {
      const onMsg = (m: ChildReply) => {
        if (m.type !== 'ready') return;
        proc.off('message', onMsg);
        proc.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null) => reject(new JobFailure('internal_error', `The processing worker could not start (exit ${code}).`, true));
      proc.on('message', onMsg);
      proc.once('exit', onExit);
    });
    proc.once('exit', () => this.children.delete(child));
    proc.send({ type: 'init', ...this.opts.init, memoryBytes: this.opts.memoryBytes } satisfies ChildRequest);
    this.children.add(child);
    this.opts.log.debug({ pid: proc.pid }, 'processing child started');
    return child;
  }

  private async acquire(): Promise<Child> {
    if (this.stopped) throw new JobFailure('service_unavailable', 'The worker is stopping.', true);
    for (const c of this.children) {
      if (!c.busy && c.proc.exitCode === null && c.proc.signalCode === null) {
        c.busy = true;
        if (c.idleTimer) clearTimeout(c.idleTimer);
        c.idleTimer = null;
        return c;
      }
    }
    if (this.children.size < this.opts.size) {
      await Promise.all([...this.dying]);
      return this.spawn();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(child: Child): void {
    const alive = child.proc.exitCode === null && child.proc.signalCode === null && this.children.has(child);
    const next = this.waiting.shift();
    if (next) {
      if (alive) return next(child);
      void Promise.all([...this.dying]).then(() => next(this.spawn()));
      return;
    }
    child.busy = false;
    if (alive) child.idleTimer = setTimeout(() => this.kill(child), IDLE_MS).unref();
  }

  private kill(child: Child): void {
    this.children.delete(child);
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.proc.once('exit', () => resolve()));
    this.dying.add(gone);
    void gone.then(() => this.dying.delete(gone));
    child.proc.kill('SIGKILL');
  }

  private runOn(child: Child, req: OperationInput, signal: AbortSignal): Promise<Encoded> {
    const id = this.nextId++;
    const { proc } = child;
    const budgetS = this.opts.timeoutMs / 1000;
    const budgetMiB = Math.round(this.opts.memoryBytes / 1048576);
    return new Promise<Encoded>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(watch);
        proc.off('message', onMsg);
        proc.off('exit', onExit);
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const stop = (why: Error) => finish(() => {
        this.kill(child);
        reject(why);
      });
      const onMsg = (m: ChildReply) => {
        if (m.type === 'done' && m.id === id) {
          finish(() => {
            const rss = proc.pid ? residentBytes(proc.pid) : null;
            if (rss !== null && rss > this.opts.memoryBytes / 2) this.kill(child);
            const b = m.out.bytes as Uint8Array;
            resolve({ ...m.out, bytes: Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength) });
          });
        } else if (m.type === 'failed' && m.id === id) {
          finish(() => reject(new JobFailure(m.code, m.message, m.retryable)));
        }
      };
      const overMemory = () =>
        budgetExceeded('memory', 'input_image_url', `the operation needed more than ${budgetMiB} MiB of memory, this server's budget for one processing operation (EASEL_PROCESS_MEMORY_MB). Use a smaller image.`);
      // A SIGKILL we did not send: the child's own memory watch (child-main.ts) or the kernel's OOM killer.
      const onExit = (code: number | null, sig: string | null) =>
        stop(sig === 'SIGKILL' ? overMemory() : new JobFailure('internal_error', `The processing worker stopped unexpectedly (${sig ?? `exit ${code}`}); nothing was charged.`, false));
      const onAbort = () => stop(new Error('aborted'));
      const timer = setTimeout(
        () => stop(budgetExceeded('time', 'input_image_url', `the operation ran past ${budgetS} s, this server's time budget for one processing operation (EASEL_PROCESS_TIMEOUT_S). Use a smaller image.`)),
        this.opts.timeoutMs,
      );
      const watch = setInterval(() => {
        const rss = proc.pid ? residentBytes(proc.pid) : null;
        if (rss !== null && rss > this.opts.memoryBytes) stop(overMemory());
      }, WATCH_MS);
      proc.on('message', onMsg);
      proc.once('exit', onExit);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      proc.send({ type: 'run', id, req } satisfies ChildRequest);
    });
  }

  /** Kills every child (the worker is stopping; an operation in flight fails and its job is released). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of [...this.children]) this.kill(c);
  }
}
