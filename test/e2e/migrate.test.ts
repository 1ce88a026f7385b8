import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BIN, EaselProcess, MODE, api } from '../helpers/server.js';

const execFileP = promisify(execFile);

describe(`easel migrate (${MODE})`, () => {
  it('is idempotent and safe when several processes run it at once', async () => {
    const srv = await EaselProcess.start();
    try {
      const runs = await Promise.all([1, 2, 3].map(() => srv.cli(['migrate'])));
      for (const r of runs) {
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /up to date|applied/);
      }
      const again = await srv.cli(['migrate']);
      assert.equal(again.code, 0);
      assert.match(again.stdout, /database is up to date/);
      const health = await api(srv.baseUrl, 'GET', '/health');
      assert.equal(health.status, 200);
      assert.equal(health.body.store.driver, MODE === 'scaleout' ? 'postgres' : 'sqlite');
      assert.equal(health.body.queue.driver, MODE === 'scaleout' ? 'postgres' : 'embedded');
      assert.equal(health.body.storage.driver, MODE === 'scaleout' ? 's3' : 'fs');
      assert.equal(health.body.storage.ok, true);
    } finally {
      await srv.stop();
    }
  });

  it('operator commands: keys list shows balances, credits grant adds a ledger row, errors exit 1 without a stack trace', async () => {
    const srv = await EaselProcess.start();
    try {
      const key = await srv.createKey('op-alice', '2.5');
      const grant = await srv.cli(['credits', 'grant', '--key-name', 'op-alice', '--eur', '1.25']);
      assert.equal(grant.code, 0, grant.stderr);
      assert.match(grant.stdout, /balance EUR 3\.750000/);
      const list = await srv.cli(['keys', 'list', '--json']);
      const rows = JSON.parse(list.stdout);
      const alice = rows.find((r: any) => r.name === 'op-alice');
      assert.equal(alice.balance_eur, '3.750000');
      assert.equal(alice.status, 'active');
      assert.ok(!list.stdout.includes(key), 'the key itself is never shown again');
      assert.equal((await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.balance_eur, '3.750000');
      for (const bad of [
        ['credits', 'grant', '--key-name', 'nobody', '--eur', '1'],
        ['credits', 'grant', '--key-name', 'op-alice', '--eur', '-1'],
        ['credits', 'grant', '--key-name', 'op-alice', '--eur', 'ten'],
        ['keys', 'create', '--name', 'op-alice'],
        ['keys', 'revoke', 'nobody'],
      ]) {
        const r = await srv.cli(bad);
        assert.equal(r.code, 1, bad.join(' '));
        assert.match(r.stderr, /^easel: /);
        assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
      }
      const second = await srv.cli(['keys', 'create', '--name', 'op-alice-2', '--account', 'op-alice']);
      assert.equal(second.code, 0);
      const key2 = second.stdout.trim().split('\n').pop()!;
      assert.equal((await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: key2 })).body.user.balance_eur, '3.750000', 'two keys, one account');
    } finally {
      await srv.stop();
    }
  });

  it('operator commands say which database they used, and refuse to create a new one unless told to (--create-data-dir)', async () => {
    const srv = await EaselProcess.start();
    try {
      const list = await srv.cli(['keys', 'list', '--json']);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stderr, MODE === 'scaleout' ? /^easel: database PostgreSQL postgres:\/\// : /^easel: database SQLite \/.*\.sqlite$/m);
      assert.ok(!/:[^:@/]+@/.test(list.stderr.replace(/postgres:\/\/[^:@/]+@/, '')), 'no password printed');
    } finally {
      await srv.stop();
    }
    // A command run without the server's EASEL_DATA_DIR (SQLite): nothing is created silently.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-op-'));
    const env = { ...process.env, EASEL_DATA_DIR: path.join(dir, 'data') };
    delete (env as Record<string, string | undefined>).EASEL_DATABASE_URL;
    try {
      const refused = await execFileP(process.execPath, [BIN, 'keys', 'create', '--name', 'stray'], { env, cwd: dir }).then(
        () => assert.fail('keys create in a new data directory must fail'),
        (e: { code: number; stderr: string; stdout: string }) => e,
      );
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /no database at .*easel\.sqlite/);
      assert.match(refused.stderr, /--create-data-dir/);
      assert.equal(refused.stdout, '');
      assert.equal(fs.existsSync(path.join(dir, 'data')), false, 'no data directory was made');
      const made = await execFileP(process.execPath, [BIN, 'keys', 'create', '--name', 'fresh', '--create-data-dir'], { env, cwd: dir });
      assert.match(made.stderr, /creating a new database at .*easel\.sqlite/);
      assert.match(made.stdout.trim().split('\n').pop()!, /^esl_/);
      assert.equal(fs.existsSync(path.join(dir, 'data', 'easel.sqlite')), true);
      const again = await execFileP(process.execPath, [BIN, 'keys', 'list', '--json'], { env, cwd: dir });
      assert.equal(JSON.parse(again.stdout)[0].name, 'fresh');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
