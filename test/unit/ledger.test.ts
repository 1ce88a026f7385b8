import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqlite, migrate, type Db } from '../../src/store/db.js';
import { createKey } from '../../src/accounts/accounts.js';
import { balanceOf, capture, grant, hold, ledgerSum, release } from '../../src/billing/ledger.js';
import { newId } from '../../src/util/ids.js';

describe('ledger on a real SQLite file', () => {
  let db: Db;
  let accountId: string;
  before(async () => {
    db = openSqlite(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-ledger-')), 'l.sqlite'));
    await migrate(db);
    accountId = (await createKey(db, { name: 'ledger' })).accountId;
  });
  after(() => db.destroy());

  it('grant, hold, capture and release keep running totals equal to the ledger sums', async () => {
    const job = newId();
    await db.transaction().execute((t) => grant(t, accountId, 1_000_000, 'test'));
    assert.equal(await db.transaction().execute((t) => hold(t, accountId, job, 300_000)), true);
    assert.deepEqual(await balanceOf(db, accountId), { available: 700_000, held: 300_000 });
    await db.transaction().execute(async (t) => {
      await capture(t, accountId, job, 200_000, 'done');
      await release(t, accountId, job, 100_000, 'rest');
    });
    assert.deepEqual(await balanceOf(db, accountId), { available: 800_000, held: 0 });
    assert.deepEqual(await ledgerSum(db, accountId), await balanceOf(db, accountId));
  });

  it('a hold larger than the spendable balance is refused and writes nothing', async () => {
    const before = await balanceOf(db, accountId);
    const rowsBefore = (await db.selectFrom('ledger').selectAll().execute()).length;
    assert.equal(await db.transaction().execute((t) => hold(t, accountId, newId(), before.available + 1)), false);
    assert.deepEqual(await balanceOf(db, accountId), before);
    assert.equal((await db.selectFrom('ledger').selectAll().execute()).length, rowsBefore);
  });

  it('a rolled-back transaction leaves neither the ledger row nor the balance change', async () => {
    const before = await balanceOf(db, accountId);
    await assert.rejects(
      db.transaction().execute(async (t) => {
        await hold(t, accountId, newId(), 1000);
        throw new Error('boom');
      }),
    );
    assert.deepEqual(await balanceOf(db, accountId), before);
    assert.deepEqual(await ledgerSum(db, accountId), before);
  });

  it('the database itself refuses a negative balance', async () => {
    await assert.rejects(db.updateTable('accounts').set({ available_micros: -1 }).where('id', '=', accountId).execute(), /CHECK constraint/);
  });
});
