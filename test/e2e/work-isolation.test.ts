import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import sharp from 'sharp';
import { EaselProcess, MODE, api, type ApiResponse } from '../helpers/server.js';
import { uploadBytes } from '../helpers/upload.js';
import { processTree, rssBytes } from '../helpers/proc.js';

/**
 * Work isolation (issue 20, item 1), the attack re-run: account G uploads a 7071 × 7071 1-bit PNG
 * (a few KB, just under the 50 MP cap) and sends 10 concurrent `POST /v1/process/convert
 * {"format":"avif"}` on it, while account B's paid `POST /v1/generate/image` is timed against its
 * own idle latency measured in the same test, and the server's whole process tree (the server and
 * its processing children) is sampled for resident memory every 100 ms.
 *
 * Two servers per mode:
 *  - default budgets: the AVIF pixel budget refuses every convert from the header (422
 *    processing_budget_exceeded), before any decode;
 *  - the pixel budget raised to admit the image, so the converts really run: in the free lane (one
 *    at a time for G, EASEL_MAX_CONCURRENT_FREE=1), in a niced child, killed at the time budget.
 *
 * The offline renderer is given 300 ms of latency (EASEL_SKETCH_LATENCY_MS), so B's idle latency is
 * a real request's, not a few ms that any scheduling noise would double. The bound is 2 × idle as the
 * issue states; both are medians of 5 calls on the same server in the same test.
 */
const SIDE = 7071;
const RSS_LIMIT = 1.5 * 1024 ** 3;
const SAMPLES = 5;

/** 7071 × 7071, 1 bit a pixel: a diagonal pattern, so the file is tiny and every pixel is work. */
async function attackPng(): Promise<Buffer> {
  const raw = Buffer.alloc(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) for (let x = (y % 64) < 32 ? 0 : 32; x < SIDE; x += 64) raw.fill(255, y * SIDE + x, Math.min(y * SIDE + x + 32, (y + 1) * SIDE));
  return sharp(raw, { raw: { width: SIDE, height: SIDE, channels: 1 } }).png({ palette: true, colours: 2, compressionLevel: 9 }).toBuffer();
}


function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** The lowest nice value among a process's threads (Linux keeps one per thread), or null when it is gone. */
function threadNice(pid: number): number | null {
  let min: number | null = null;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      min = min === null ? nice : Math.min(min, nice);
    }
  } catch {
    // gone meanwhile
  }
  return min;
}

/**
 * Samples the tree every 100 ms until stopped: the peak of its summed resident memory (and the
 * server's own peak), and the nice values of the server's descendants (the processing children).
 */
function sampleTree(root: number) {
  let peak = 0;
  let peakProcesses = 0;
  let serverPeak = 0;
  const childNice = new Set<number>();
  const t = setInterval(() => {
    const pids = processTree(root);
    const own = rssBytes(root);
    const bytes = own + pids.slice(1).reduce((a, p) => a + rssBytes(p), 0);
    serverPeak = Math.max(serverPeak, own);
    if (bytes > peak) [peak, peakProcesses] = [bytes, pids.length];
    // Processing children once they run node (child-main): not the instants between spawn's fork, `nice`'s
    // own start (its command line names child-main too) and its exec of node at nice 19.
    for (const p of pids.slice(1)) {
      if (!cmdline(p).includes('child-main') || comm(p) !== 'node') continue;
      const n = threadNice(p);
      if (n !== null) childNice.add(n);
    }
  }, 100);
  return {
    stop: () => {
      clearInterval(t);
      return { peak, peakProcesses, serverPeak, childNice: [...childNice] };
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** B's paid image, timed; it must succeed. */
async function paidImage(srv: EaselProcess, key: string, i: number): Promise<number> {
  const t0 = performance.now();
  const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `a lighthouse on a cliff at dusk, take ${i}` } });
  const ms = performance.now() - t0;
  assert.equal(r.status, 200, r.text);
  return ms;
}

async function paidLatencies(srv: EaselProcess, key: string, tag: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < SAMPLES; i++) out.push(await paidImage(srv, key, tag * 100 + i));
  return out;
}

interface Attack {
  idle: number[];
  flood: number[];
  converts: ApiResponse[];
  peak: number;
  peakProcesses: number;
  serverPeak: number;
  /** Lowest thread nice values seen in the server's child processes. */
  childNice: number[];
  /** The most of G's processing jobs seen running at once (GET /v1/jobs every 200 ms during the flood). */
  gRunningMax: number;
}

/** The attack against one server: idle latency, then B under G's 10 concurrent AVIF converts. */
async function runAttack(srv: EaselProcess, png: Buffer): Promise<Attack> {
  const g = await srv.createKey('attacker-g', '1');
  const b = await srv.createKey('payer-b', '5');
  const up = await uploadBytes(srv.baseUrl, g, png);
  assert.equal(up.status, 200, up.text);
  assert.deepEqual([up.body.width, up.body.height], [SIDE, SIDE]);
  const tree = sampleTree(srv.child!.pid!);
  await paidImage(srv, b, 0); // warm-up (first-request costs are not idle latency)
  const idle = await paidLatencies(srv, b, 1);
  const converts = Promise.all(
    Array.from({ length: 10 }, () => api(srv.baseUrl, 'POST', '/v1/process/convert', { key: g, body: { input_image_url: up.body.upload_url, format: 'avif' } })),
  );
  let gRunningMax = 0;
  let flooding = true;
  const watchG = (async () => {
    while (flooding) {
      const list = await api(srv.baseUrl, 'GET', '/v1/jobs?status=processing&limit=100', { key: g });
      assert.equal(list.status, 200, list.text);
      gRunningMax = Math.max(gRunningMax, list.body.generations.filter((j: any) => j.status === 'processing').length);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  // Let the flood start (the converts are submitted and one is running) before timing B.
  await new Promise((r) => setTimeout(r, 500));
  const flood = await paidLatencies(srv, b, 2);
  const done = await converts;
  flooding = false;
  await watchG;
  return { idle, flood, converts: done, ...tree.stop(), gRunningMax };
}

function report(what: string, a: Attack): string {
  const statuses = a.converts.map((c) => `${c.status}${c.status === 200 ? '' : ` ${String(c.body.message).slice(16, 60)}`}`).join('; ');
  return `${what} (${MODE}): B idle median ${median(a.idle).toFixed(0)} ms [${a.idle.map((x) => x.toFixed(0)).join(', ')}], under the flood ${median(a.flood).toFixed(0)} ms [${a.flood.map((x) => x.toFixed(0)).join(', ')}]; tree RSS peak ${(a.peak / 1048576).toFixed(0)} MiB over ${a.peakProcesses} processes (server alone at most ${(a.serverPeak / 1048576).toFixed(0)} MiB); child nice ${a.childNice.join('/') || 'none'}; G running at most ${a.gRunningMax}; converts ${statuses}`;
}

function assertIsolated(a: Attack, what: string): void {
  const idle = median(a.idle);
  const flood = median(a.flood);
  assert.ok(flood <= 2 * idle, `${what}: B's paid image took ${flood.toFixed(0)} ms under the flood, over 2 × its idle ${idle.toFixed(0)} ms`);
  assert.ok(a.peak <= RSS_LIMIT, `${what}: the server's process tree reached ${(a.peak / 1048576).toFixed(0)} MiB (limit 1536 MiB)`);
}

describe(`work isolation: free processing does not starve paid work (${MODE})`, () => {
  let png: Buffer;
  const servers: EaselProcess[] = [];
  before(async () => {
    png = await attackPng();
    assert.ok(png.length < 64 * 1024, `the attack file is small (${png.length} bytes)`);
  });
  after(async () => {
    for (const s of servers) await s.stop();
  });

  it('default budgets: every 50 MP AVIF convert (and a remove-background) is refused from its header with 422 processing_budget_exceeded; B unaffected', async () => {
    const srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '300' } });
    servers.push(srv);
    const a = await runAttack(srv, png);
    console.log(report('default budgets', a));
    for (const c of a.converts) {
      assert.equal(c.status, 422, c.text);
      assert.equal(c.body.error, 'processing_budget_exceeded');
      assert.match(c.body.message, /AVIF is written up to 16\.8 MP/);
      assert.equal(c.body.details.job_error_code, 'processing_budget_exceeded');
    }
    // remove-background's own pixel budget, from the header too.
    const g = await srv.createKey('attacker-g2', '1');
    const up = await uploadBytes(srv.baseUrl, g, png);
    const bg = await api(srv.baseUrl, 'POST', '/v1/process/remove-background', { key: g, body: { input_image_url: up.body.upload_url } });
    assert.equal(bg.status, 422, bg.text);
    assert.equal(bg.body.error, 'processing_budget_exceeded');
    assert.match(bg.body.message, /remove-background takes at most 25 MP/);
    const metrics = await api(srv.baseUrl, 'GET', '/metrics');
    assert.match(metrics.text, /^easel_processing_budget_exceeded_total\{budget="pixels"\} 11$/m, 'the refusals are counted, by budget');
    const job = await api(srv.baseUrl, 'GET', `/v1/jobs/${a.converts[0]!.body.details.job_id}`, { key: await srv.createKey('other', '1') });
    assert.equal(job.status, 404, 'another account does not see the job');
    assertIsolated(a, 'default budgets');
  });

  it('budget raised to admit the image: the converts run one at a time in a niced child and stop at the time budget; B stays within 2 × idle and the tree within 1.5 GB', async () => {
    const srv = await EaselProcess.start({
      env: { EASEL_SKETCH_LATENCY_MS: '300', EASEL_PROCESS_AVIF_MAX_PIXELS: '50000000', EASEL_PROCESS_TIMEOUT_S: '4' },
    });
    servers.push(srv);
    const a = await runAttack(srv, png);
    console.log(report('raised pixel budget, 4 s time budget', a));
    for (const c of a.converts) {
      // Either finished within the budget, or stopped at it: never a 500, never a hang.
      if (c.status === 200) {
        assert.equal(c.body.format, 'avif');
        continue;
      }
      assert.equal(c.status, 422, c.text);
      assert.equal(c.body.error, 'processing_budget_exceeded');
      assert.match(c.body.message, /time budget|memory/);
    }
    assert.deepEqual(a.childNice, [19], 'every thread of every processing child runs at nice 19');
    assert.equal(a.gRunningMax, 1, 'G\'s converts ran one at a time (EASEL_MAX_CONCURRENT_FREE=1), the rest waiting in the free lane');
    assertIsolated(a, 'raised pixel budget');
  });
});
