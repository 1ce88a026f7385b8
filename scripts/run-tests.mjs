#!/usr/bin/env node
// Runs every test file with node's own test runner (through tsx for TypeScript).
// Node 20 does not expand globs in --test arguments, so the file list is built here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

function find(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? find(p) : e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const only = process.argv.slice(2);
const files = (only.length ? only : find('test')).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
fs.mkdirSync('test-artifacts', { recursive: true });
const tap = path.join('test-artifacts', 'results.tap');
const args = [
  '--import', 'tsx', '--test',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tap}`,
  `--test-concurrency=${process.env.EASEL_TEST_CONCURRENCY ?? 2}`,
  ...files,
];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
// One plain closing line that any CI can read, taken from the TAP summary.
const summary = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
const count = (k) => Number((new RegExp(`^# ${k} (\\d+)$`, 'm').exec(summary) ?? [])[1] ?? 0);
console.log(`${count('pass')} passed, ${count('fail')} failed, ${count('skipped') + count('todo')} skipped`);
process.exit(r.status ?? 1);
