#!/usr/bin/env node
// Runs every test file with node's own test runner (through tsx for TypeScript).
// Node 20 does not expand globs in --test arguments, so the file list is built here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { staleBuilds } from './build-freshness.mjs';

function find(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? find(p) : e.name.endsWith('.test.ts') ? [p] : [];
  });
}

// Usage: run-tests.mjs [--modes embedded,scaleout] [files…]
// Each mode runs the same files: embedded (SQLite, disk, in-process queue) and scale-out
// (PostgreSQL + pg-boss + S3), selected for the servers the tests start by EASEL_TEST_MODE.
const argv = process.argv.slice(2);
let modes = ['embedded'];
const mi = argv.indexOf('--modes');
if (mi >= 0) {
  modes = argv[mi + 1].split(',');
  argv.splice(mi, 2);
}
const files = (argv.length ? argv : find('test')).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// The end-to-end tests run the build: rebuild whatever is older than its sources first, so a
// single-file run (`node scripts/run-tests.mjs test/e2e/x.test.ts`) never tests a stale build.
for (const { what, script } of staleBuilds(process.cwd())) {
  console.log(`== ${what} is older than its sources: npm run ${script}`);
  const b = spawnSync('npm', ['run', '--silent', script], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
fs.mkdirSync('test-artifacts', { recursive: true });
const totals = { pass: 0, fail: 0, skipped: 0 };
let status = 0;
for (const mode of modes) {
  console.log(`\n== tests, ${mode} mode (${files.length} files)`);
  const tap = path.join('test-artifacts', `results-${mode}.tap`);
  const args = [
    '--import', 'tsx', '--test',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    `--test-concurrency=${process.env.EASEL_TEST_CONCURRENCY ?? 2}`,
    ...files,
  ];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, EASEL_TEST_MODE: mode } });
  const summary = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
  const count = (k) => Number((new RegExp(`^# ${k} (\\d+)$`, 'm').exec(summary) ?? [])[1] ?? 0);
  // A test cancelled because its suite's setup failed did not pass: it counts as failed. A suite
  // whose after hook failed (a server's stop() finding responses the OpenAPI document does not
  // describe) fails the run without failing a test: count its top-level `not ok` then.
  let failed = count('fail') + count('cancelled');
  if (failed === 0 && r.status !== 0) failed = Math.max(1, (summary.match(/^not ok \d+/gm) ?? []).length);
  console.log(`${mode}: ${count('pass')} passed, ${failed} failed (${count('cancelled')} of them cancelled), ${count('skipped') + count('todo')} skipped`);
  totals.pass += count('pass');
  totals.fail += failed;
  totals.skipped += count('skipped') + count('todo');
  if (r.status !== 0) status = r.status ?? 1;
}
// One plain closing line that any CI can read, summed over the modes.
console.log(`${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(status);
