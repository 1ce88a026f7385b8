import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, MODE, api } from '../helpers/server.js';

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
});
