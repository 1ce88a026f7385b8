/**
 * `npm run bench:fair-options`: the option issue 18 suggested and the SQL queue replaced, measured
 * beside it on one PostgreSQL (scale-out only): **one pg-boss queue per account**, Easel choosing the
 * queue to fetch from by a pass table (stride scheduling's virtual time) and pg-boss fetching from it.
 *
 * In pg-boss 10 every queue is a partition of pgboss.job with its own table, primary key, two
 * foreign keys and 5 indexes (node_modules/pg-boss/src/plans.js, createQueueFunction), so
 * measured here:
 *   1. the time to create 1 000 per-account queues (what the first job of 1 000 new accounts costs);
 *   2. the cost of one claim with 100 and with 100 000 jobs pending across 1 000 accounts: in one
 *      transaction, lock the account with the lowest pass that has work (SKIP LOCKED), count its
 *      running jobs in its queue (the running limit), boss.fetch from its queue, advance its pass;
 *   3. beside it, SqlQueue.claim (src/queue/sql-queue.ts) on the same layouts (bench/fair-dispatch.ts).
 * Every claim cost is measured in the same alternating rounds (pg-boss 100, pg-boss 100 000, SQL 100,
 * SQL 100 000, then the reverse, …). Prints a table; nothing is written. FAIR_OPTIONS_SMALL=1: 200 queues and 5 000 pending (a quick check).
 */
import pg from 'pg';
import PgBoss from 'pg-boss';
import { createDatabase, dropDatabase } from '../test/helpers/server.js';
import { claimBench, median, percentile } from './fair-dispatch.js';

const QUICK = process.env.FAIR_OPTIONS_SMALL === '1';
const ACCOUNTS = QUICK ? 200 : 1_000;
const LARGE = QUICK ? 5_000 : 100_000;
const SMALL = 100;
const CLAIMS = QUICK ? 200 : 2_000;
const ROUNDS = 4;

const fmt = (n: number, d = 1) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

interface BossSet {
  prefix: string;
  claims: number[];
}

/** pg-boss with its maintenance and scheduling off: only what a claim does is measured. */
async function startBoss(url: string): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: url, max: 4, supervise: false, schedule: false, migrate: true });
  boss.on('error', () => undefined);
  await boss.start();
  return boss;
}

async function main(): Promise<void> {
  const url = await createDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let boss: PgBoss | null = null;
  try {
    boss = await startBoss(url);
    const tablesBefore = Number((await client.query("select count(*) as n from pg_class where relnamespace = 'pgboss'::regnamespace")).rows[0].n);

    // 1. 1 000 queues for the large layout, then 1 000 more for the small one (timed too: a second sample).
    const createQueues = async (prefix: string) => {
      const t0 = performance.now();
      for (let i = 0; i < ACCOUNTS; i++) await boss!.createQueue(`${prefix}${i}`, { name: `${prefix}${i}`, policy: 'standard' } as never);
      return (performance.now() - t0) / 1000;
    };
    const createLarge = await createQueues('l-');
    const createSmall = await createQueues('s-');
    const rels = Number((await client.query("select count(*) as n from pg_class where relnamespace = 'pgboss'::regnamespace")).rows[0].n) - tablesBefore;
    const size = (await client.query("select pg_size_pretty(pg_database_size(current_database())) as s")).rows[0].s as string;

    // The pass table: one row per account, the same stride schedule the SQL queue keeps in sched_accounts.
    await client.query('create table passes (account text primary key, pass double precision not null default 0, pending integer not null default 0)');
    await client.query('create index passes_active on passes (pass, account) where pending > 0');

    // 2. Seed: large = LARGE jobs across ACCOUNTS queues; small = SMALL jobs, 1 each in SMALL of the other queues.
    const seed = async (prefix: string, accounts: number, per: number) => {
      const t0 = performance.now();
      for (let a = 0; a < accounts; a += Math.max(1, Math.floor(1000 / per))) {
        const jobs = [];
        for (let b = a; b < Math.min(accounts, a + Math.max(1, Math.floor(1000 / per))); b++) for (let k = 0; k < per; k++) jobs.push({ name: `${prefix}${b}`, data: { n: k } });
        await boss!.insert(jobs);
      }
      await client.query(`insert into passes (account, pass, pending) select $1 || g, 0, $2 from generate_series(0, $3 - 1) g`, [prefix, per, accounts]);
      return (performance.now() - t0) / 1000;
    };
    const seedLarge = await seed('l-', ACCOUNTS, LARGE / ACCOUNTS);
    const seedSmall = await seed('s-', SMALL, 1);
    await client.query('analyze');

    // One claim: choose the account by the pass table, check its running limit, fetch from its queue — one transaction.
    const tx = new pg.Client({ connectionString: url });
    await tx.connect();
    const executor = { executeSql: (text: string, values?: unknown[]) => tx.query(text, values as unknown[]) };
    const claimOnce = async (prefix: string): Promise<{ name: string; id: string }> => {
      await tx.query('begin');
      try {
        const a = await tx.query(`select account from passes where pending > 0 and account like $1 order by pass, account limit 1 for update skip locked`, [`${prefix}%`]);
        const account = a.rows[0]?.account as string | undefined;
        if (!account) throw new Error('no account with work');
        const running = await tx.query(`select count(*) as n from pgboss.job where name = $1 and state = 'active'`, [account]);
        if (Number(running.rows[0].n) >= 1000) throw new Error('running limit');
        const jobs = await boss!.fetch(account, { batchSize: 1, db: executor } as never);
        const job = (jobs as { id: string }[])[0];
        if (!job) throw new Error(`queue ${account} gave nothing`);
        await tx.query('update passes set pass = pass + 1, pending = pending - 1 where account = $1', [account]);
        await tx.query('commit');
        return { name: account, id: job.id };
      } catch (e) {
        await tx.query('rollback');
        throw e;
      }
    };
    const sets: BossSet[] = [
      { prefix: 's-', claims: [] },
      { prefix: 'l-', claims: [] },
    ];
    const measure = async (set: BossSet, n: number, keep = true) => {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const got = await claimOnce(set.prefix);
        const dt = performance.now() - t0;
        if (keep) set.claims.push(dt);
        // Untimed: the job completes and the account gets a new one (the store keeps its size).
        await boss!.complete(got.name, got.id);
        await boss!.insert([{ name: got.name, data: { n: -1 } }]);
        await client.query('update passes set pending = pending + 1 where account = $1', [got.name]);
      }
    };
    // 3. The SQL queue on the same layouts, in databases of its own on the same PostgreSQL server; its
    // claims are measured in the same alternating rounds as pg-boss's, so load falls on all four alike.
    const sqlSmall = await claimBench('scaleout', { pending: SMALL, accounts: SMALL });
    const sqlLarge = await claimBench('scaleout', { pending: LARGE, accounts: ACCOUNTS });
    try {
      for (const s of sets) await measure(s, 20, false);
      await sqlSmall.measure(20);
      await sqlLarge.measure(20);
      sqlSmall.claims.length = 0;
      sqlLarge.claims.length = 0;
      const per = Math.ceil(CLAIMS / ROUNDS);
      const steps = [() => measure(sets[0]!, per), () => measure(sets[1]!, per), () => sqlSmall.measure(per), () => sqlLarge.measure(per)];
      for (let r = 0; r < ROUNDS; r++) for (const step of r % 2 === 0 ? steps : [...steps].reverse()) await step();
    } finally {
      await tx.end();
      await sqlSmall.close();
      await sqlLarge.close();
    }
    await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
    boss = null;
    const sqlq = { small: sqlSmall.result(), large: sqlLarge.result() };

    const [bs, bl] = sets;
    const row = (what: string, small: string, large: string, ratio: string) => `| ${what} | ${small} | ${large} | ${ratio} |`;
    const ms = (xs: number[]) => `${fmt(median(xs), 2)} ms (p95 ${fmt(percentile(xs, 0.95), 2)})`;
    console.log(`\nFair dispatch options on PostgreSQL — ${ACCOUNTS} accounts, ${fmt(LARGE, 0)} vs ${SMALL} pending, ${CLAIMS} claims each in ${ROUNDS} alternating rounds\n`);
    console.log(`| | ${SMALL} pending | ${fmt(LARGE, 0)} pending | large ÷ small |`);
    console.log('|---|---|---|---|');
    console.log(row('claim, pg-boss queue per account (pass table → running count → boss.fetch), median', ms(bs!.claims), ms(bl!.claims), fmt(median(bl!.claims) / median(bs!.claims), 2)));
    console.log(row('claim, SqlQueue (sched_accounts → running count → next task), median', `${fmt(sqlq.small.medianMs, 2)} ms (p95 ${fmt(percentile(sqlq.small.claims, 0.95), 2)})`, `${fmt(sqlq.large.medianMs, 2)} ms (p95 ${fmt(percentile(sqlq.large.claims, 0.95), 2)})`, fmt(sqlq.large.medianMs / sqlq.small.medianMs, 2)));
    console.log(`\ncreating ${ACCOUNTS} pg-boss queues: ${fmt(createLarge, 1)} s (${fmt((1000 * createLarge) / ACCOUNTS, 1)} ms each); a second ${ACCOUNTS}: ${fmt(createSmall, 1)} s`);
    console.log(`pg-boss relations (tables, indexes, toast) added for ${2 * ACCOUNTS} queues: ${rels} (${fmt(rels / (2 * ACCOUNTS), 1)} per queue); database ${size} before seeding`);
    console.log(`seeding: pg-boss ${fmt(LARGE, 0)} jobs by boss.insert in ${fmt(seedLarge, 1)} s (${SMALL} in ${fmt(seedSmall, 2)} s); SqlQueue ${fmt(LARGE, 0)} tasks by SqlQueue.enqueue in ${fmt(sqlq.large.seedSeconds, 1)} s`);
  } finally {
    await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
    await client.end();
    await dropDatabase(url);
  }
}

await main();
process.exit(0);
