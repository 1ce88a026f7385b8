/**
 * The entry of a processing child (forked by child-pool.ts): runs one operation at a time for its
 * parent, at the lowest CPU priority, with libvips on one thread and no cache. It holds no store,
 * queue or key: bytes in, bytes out. It exits when its parent goes away.
 */
import fs from 'node:fs';
import os from 'node:os';
import sharp from 'sharp';
import { JobFailure } from '../../errors.js';
import { installC2paSigning } from '../../imaging/signing.js';
import { RuleModerator } from '../../moderation/moderator.js';
import { runOperation, type OperationInput } from './run-operation.js';
import type { ChildReply, ChildRequest } from './child-protocol.js';

/**
 * Niceness 19 for every thread: Linux keeps a nice value per thread, so the threads that exist
 * already (V8's) are reniced one by one; libuv's pool and libvips' workers start later and inherit
 * it from the thread that creates them.
 */
function lowerPriority(): void {
  try {
    os.setPriority(0, 19);
  } catch {
    return;
  }
  let tids: string[] = [];
  try {
    tids = fs.readdirSync('/proc/self/task');
  } catch {
    return;
  }
  for (const tid of tids) {
    try {
      os.setPriority(Number(tid), 19);
    } catch {
      // a thread that ended meanwhile
    }
  }
}

lowerPriority();
// One libvips thread per child: EASEL_PROCESS_CONCURRENCY children use at most that many cores.
// No operation cache: every input is new, and a cache only holds memory the budget counts.
sharp.concurrency(1);
sharp.cache(false);

const moderator = new RuleModerator();
const toBuffer = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const reply = (m: ChildReply) => process.send?.(m);

/**
 * The child's own watch on its memory budget, beside the parent's (which reads /proc every 50 ms from
 * a busy event loop): libvips allocates on its own threads, so this loop keeps running while it
 * grows, and a SIGKILL of itself ends the process at once, wherever libvips is. The parent reads an
 * unexpected SIGKILL as the memory budget (the kernel's OOM killer sends the same).
 */
function watchOwnMemory(budget: number): void {
  setInterval(() => {
    if (process.memoryUsage.rss() > budget) process.kill(process.pid, 'SIGKILL');
  }, 20).unref();
}

process.on('disconnect', () => process.exit(0));
process.on('message', (m: ChildRequest) => {
  if (m.type === 'init') {
    installC2paSigning(m.dataDir, { cert: m.c2paCert, key: m.c2paKey });
    watchOwnMemory(m.memoryBytes);
    reply({ type: 'ready' });
    return;
  }
  const req: OperationInput = { ...m.req, inputs: Object.fromEntries(Object.entries(m.req.inputs).map(([k, v]) => [k, toBuffer(v)])) };
  runOperation(req, moderator, new AbortController().signal).then(
    (out) => reply({ type: 'done', id: m.id, out }),
    (e: unknown) => {
      const f = e instanceof JobFailure ? e : new JobFailure('internal_error', `The image could not be processed (${String((e as Error)?.message ?? e).slice(0, 200)}).`, false);
      reply({ type: 'failed', id: m.id, code: f.code, message: f.message, retryable: f.retryable });
    },
  );
});
