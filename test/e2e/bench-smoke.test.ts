import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MODE, ROOT } from '../helpers/server.js';

/**
 * Keeps `npm run bench` from rotting: runs it in smoke mode (about 1 s per phase) for this pass's
 * mode and checks that it completes and reports every row. No timing is asserted — the numbers of
 * a 1-second run on a shared machine mean nothing.
 */
describe('npm run bench (smoke)', () => {
  it('completes and writes a report with every row', { timeout: 600_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-bench-smoke-'));
    const report = path.join(dir, 'BENCHMARKS.md');
    const json = path.join(dir, 'benchmarks.json');
    // bench/results.json, copied so the run's merge keeps the other benches' rows (and the repo's file stays as measured).
    const resultsFile = path.join(dir, 'results.json');
    fs.copyFileSync(path.join(ROOT, 'bench', 'results.json'), resultsFile);
    const before = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as { id: string; mode: string }[];
    let output = '';
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'run.ts')], {
        cwd: ROOT,
        env: { ...process.env, BENCH_SMOKE: '1', BENCH_MODES: MODE, BENCH_REPORT: report, BENCH_JSON: json, BENCH_RESULTS: resultsFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.once('error', reject);
      child.once('exit', resolve);
    });
    assert.equal(code, 0, output.slice(-4000));

    const results = JSON.parse(fs.readFileSync(json, 'utf8')) as { mode: string; smoke: boolean; rows: { id: string; ratio: number | null; todo?: string; error?: string; data: Record<string, any> }[] }[];
    assert.equal(results.length, 1);
    assert.equal(results[0]!.mode, MODE);
    assert.equal(results[0]!.smoke, true);
    const rows = results[0]!.rows;
    assert.deepEqual(rows.map((r) => r.id).sort(), ['batchcpu', 'claimcost', 'fairwait', 'files', 'fleet', 'jain', 'memory', 'poll', 'story', 'throughput']);
    for (const r of rows) {
      assert.equal(r.error, undefined, `${r.id}: ${r.error}`);
      // Every row is either measured (a ratio) or an explicit TODO (the story endpoint, before it exists).
      assert.ok(typeof r.ratio === 'number' || typeof r.todo === 'string', `${r.id} has neither a ratio nor a TODO`);
      if (typeof r.ratio === 'number') assert.ok(Number.isFinite(r.ratio) && r.ratio > 0, `${r.id}: ratio ${r.ratio}`);
    }
    // The batch row's quick form ran both sides to completion on one server (issue 21): 50 single jobs and one 50-item batch.
    const batch = rows.find((r) => r.id === 'batchcpu')!.data as { items: number; phases: { kind: string; items: number; cpuMsPerItem: number }[] };
    assert.equal(batch.items, 50);
    assert.deepEqual(batch.phases.map((p) => p.kind).sort(), ['batch', 'single']);
    for (const p of batch.phases) assert.ok(p.items === 50 && p.cpuMsPerItem > 0, `${p.kind}: ${JSON.stringify(p)}`);

    // bench/results.json (issue 26): every row of this mode present, in its documented shape, numbers
    // measured (not null) — no timing asserted; every other bench's rows kept.
    const written = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as Record<string, unknown>[];
    const mine = written.filter((r) => r.mode === MODE && !String(r.id).startsWith('scale.'));
    assert.deepEqual(
      mine.map((r) => r.id).sort(),
      ['batch_cpu', 'fair_claim_cost', 'fair_jain', 'fair_wait_p95', 'files', 'fleet_dispatch', 'poll_p99_ms', 'poll_vs_bare', 'poll_vs_floor', 'rss_after_work_mb', 'rss_loaded_mb', 'story_overhead_ms', 'throughput_vs_image_work', 'throughput_vs_queue'],
    );
    for (const r of mine) {
      assert.deepEqual(Object.keys(r).filter((k) => k !== 'smoke').sort(), ['anchor', 'id', 'met', 'mode', 'ratio', 'target', 'unit', 'value'], `${r.id}: ${JSON.stringify(r)}`);
      assert.equal(r.smoke, true);
      assert.ok(typeof r.value === 'number' && Number.isFinite(r.value), `${r.id}: value ${r.value}`);
      assert.ok(typeof r.unit === 'string' && r.unit.length > 0 && typeof r.target === 'string', `${r.id}: ${JSON.stringify(r)}`);
      assert.ok(r.met === null || typeof r.met === 'boolean', `${r.id}: met ${r.met}`);
    }
    for (const b of before.filter((r) => r.mode !== MODE || r.id.startsWith('scale.'))) {
      assert.ok(written.some((r) => r.id === b.id && r.mode === b.mode), `kept ${b.mode}/${b.id}`);
    }

    const md = fs.readFileSync(report, 'utf8');
    assert.match(md, /SMOKE RUN/);
    for (const title of ['Status poll', 'Job throughput', 'Story overhead', 'Signed file serving', 'Memory', "Fair dispatch: a light account's p95 wait", "Fair dispatch: Jain's fairness index", 'Fair dispatch: cost of one claim', 'Fleet dispatch', 'Batch CPU']) {
      assert.match(md, new RegExp(`^\\| \\d+ \\| ${title}`, 'm'), `report row "${title}"`);
    }
  });
});
