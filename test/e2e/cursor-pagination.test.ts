import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { EaselProcess, MODE, api, waitFor } from '../helpers/server.js';
import { assertSpecShape } from '../helpers/spec-shapes.js';
import { Easel } from '../../src/sdk/index.js';
import { runCli } from '../helpers/cli.js';

/**
 * Cursor pagination (issue 25): every list walked by `next_cursor` → `starting_after` while another
 * client of the same account keeps creating jobs (and with them ledger rows and webhook
 * deliveries). Every row that existed when the walk started is seen exactly once, in the list's
 * order; the same walk by offset, for contrast, repeats rows. The server checks every answer
 * against its OpenAPI document (src/api/response-check.ts; stop() fails otherwise).
 */

type Row = Record<string, any>;
const LISTS = {
  jobs: { path: '/v1/jobs', field: 'generations', id: (r: Row) => r.job_id as string },
  ledger: { path: '/v1/account/ledger', field: 'entries', id: (r: Row) => r.id as string },
  deliveries: { path: '/v1/webhooks/deliveries', field: 'deliveries', id: (r: Row) => r.id as string },
} as const;
type ListName = keyof typeof LISTS;

/** A webhook receiver on loopback that accepts everything (the deliveries only need somewhere to go). */
async function receiver() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const withQuery = (p: string, q: Record<string, string | number | undefined>) => {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) qs.set(k, String(v));
  const s = qs.toString();
  return s ? `${p}${p.includes('?') ? '&' : '?'}${s}` : p;
};

describe(`cursor pagination on every list (${MODE})`, () => {
  let srv: EaselProcess;
  let rx: Awaited<ReturnType<typeof receiver>>;
  let key: string;
  /** A second key of the same account: the "other client" that inserts while the first one walks. */
  let writer: string;
  let other: string;
  let otherJobId: string;
  /** What the seed created, to compute each filter's expected set independently of the server. */
  const seeded: { id: string; operation: string; status: string; tier: string | null }[] = [];

  const create = async (k: string, i: number) => {
    const tier = i % 3 === 0 ? 'gold' : i % 3 === 1 ? 'silver' : null;
    const metadata = tier ? { tier } : undefined;
    const kind = i % 5;
    if (kind === 4) {
      // An edit whose input cannot be fetched: the job fails (status failed), charging nothing.
      const r = await api(srv.baseUrl, 'POST', '/v1/edit/image', { key: k, body: { prompt: `bad ${i}`, image_url: 'http://127.0.0.1:9/nothing.png', metadata } });
      const id = r.body.job_id ?? r.body.details?.job_id;
      return { id: id as string | undefined, operation: 'edit_image', status: 'failed', tier };
    }
    const [p, operation] = kind === 3 ? ['/v1/generate/diagram', 'diagram'] : ['/v1/generate/image', 'image'];
    const r = await api(srv.baseUrl, 'POST', p, { key: k, body: { prompt: kind === 3 ? `a, b${i}` : `cursor ${i}`, metadata } });
    assert.equal(r.status, 200, r.text);
    return { id: r.body.id as string, operation, status: 'completed', tier };
  };

  /** The other client: creates jobs until told to stop (awaiting the one in flight). */
  const inserter = () => {
    let stop = false;
    let n = 0;
    const done = (async () => {
      while (!stop) {
        await create(writer, 1000 + n);
        n++;
      }
    })();
    return {
      created: () => n,
      stop: async () => {
        stop = true;
        await done;
      },
    };
  };

  /** Every row of a list now, by offset, while nothing is inserting: the set a walk must see. */
  const snapshot = async (name: ListName, q: Record<string, string> = {}, k = key) => {
    const l = LISTS[name];
    const rows: Row[] = [];
    for (let offset = 0; ; offset += 100) {
      const r = await api(srv.baseUrl, 'GET', withQuery(l.path, { ...q, limit: 100, offset }), { key: k });
      assert.equal(r.status, 200, r.text);
      rows.push(...r.body[l.field]);
      if (rows.length >= r.body.total) return rows;
    }
  };

  /** A walk by cursor; `between(n)` runs after page n (an insert by the other client). */
  const walk = async (name: ListName, q: Record<string, string | number> = {}, between?: (page: number) => Promise<unknown>, k = key) => {
    const l = LISTS[name];
    const pages: Row[][] = [];
    let cursor: string | undefined;
    for (;;) {
      const r = await api(srv.baseUrl, 'GET', withQuery(l.path, { ...q, starting_after: cursor }), { key: k });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.offset, 0, 'a cursor page reports offset 0');
      if (name === 'jobs') assertSpecShape('jobList', r.body);
      pages.push(r.body[l.field]);
      if (r.body.next_cursor === null) break;
      assert.equal(typeof r.body.next_cursor, 'string');
      assert.ok(r.body[l.field].length === Number(q.limit ?? r.body.limit), 'a page with a next cursor is full');
      cursor = r.body.next_cursor;
      if (between) await between(pages.length);
      assert.ok(pages.length < 500, 'the walk ends');
    }
    return { pages, rows: pages.flat() };
  };

  /** Every id of `start` once in `seen`, no id twice, and nothing from outside `allowed` (this account's). */
  const assertExactlyOnce = (start: string[], seen: string[], label: string) => {
    const counts = new Map<string, number>();
    for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.deepEqual([...counts].filter(([, n]) => n > 1), [], `${label}: no row repeated`);
    assert.deepEqual(start.filter((id) => !counts.has(id)), [], `${label}: no row skipped`);
  };

  const strictlyDescending = (ids: string[], label: string) => {
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! > ids[i]!, `${label}: ${ids[i - 1]} before ${ids[i]} (newest first, strictly)`);
  };

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_ALLOW_LOOPBACK_URLS: 'true', EASEL_WEBHOOK_POLL_MS: '100' } });
    rx = await receiver();
    key = await srv.createKey('cursor-main', '100');
    other = await srv.createKey('cursor-other', '10');
    const w = await api(srv.baseUrl, 'POST', '/v1/keys', { key, body: { name: 'writer', scope: 'generate' } });
    assert.equal(w.status, 201, w.text);
    writer = w.body.key;
    // Every job of the account reports to the receiver: each create queues deliveries.
    assert.equal((await api(srv.baseUrl, 'PUT', '/v1/account/webhook', { key, body: { url: rx.url } })).status, 200);
    // 40: at least three gold failed jobs (i ≡ 9 mod 15), whatever the inserter adds, for the boundary test.
    for (let i = 0; i < 40; i++) {
      const j = await create(key, i);
      if (j.id) seeded.push(j as (typeof seeded)[number]);
    }
    // The other account's jobs, interleaved in time with this account's ids.
    for (let i = 0; i < 3; i++) otherJobId = (await create(other, i)).id!;
    for (let i = 26; i < 30; i++) {
      const j = await create(key, i);
      if (j.id) seeded.push(j as (typeof seeded)[number]);
    }
  });
  after(async () => {
    await srv?.stop();
    await rx?.close();
  });

  it('GET /v1/jobs: a cursor walk under concurrent inserts sees every existing job once, newest first; offset does not', async () => {
    const start = (await snapshot('jobs')).map(LISTS.jobs.id);
    assert.equal(start.length, seeded.length, 'the failed edits are listed too');
    const bg = inserter();
    try {
      // Besides the background writer, one insert lands between every two pages for certain.
      const { rows } = await walk('jobs', { limit: 7 }, () => create(writer, 5000));
      const ids = rows.map(LISTS.jobs.id);
      assertExactlyOnce(start, ids, 'jobs');
      strictlyDescending(ids, 'jobs');
      // Anything else it saw is a job the writer created (before the first page), of this account.
      for (const id of ids.filter((x) => !start.includes(x))) assert.equal((await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).status, 200);
      assert.ok(bg.created() > 0, 'the writer really wrote during the walk');

      // The same walk by offset: every insert pushes the rows down a place, so rows repeat.
      const byOffset: string[] = [];
      for (let offset = 0; offset < start.length + 20; offset += 7) {
        const r = await api(srv.baseUrl, 'GET', `/v1/jobs?limit=7&offset=${offset}`, { key });
        byOffset.push(...r.body.generations.map(LISTS.jobs.id));
        await create(writer, 6000);
      }
      assert.ok(new Set(byOffset).size < byOffset.length, 'offset pages repeat rows under inserts (why the cursor exists)');
    } finally {
      await bg.stop();
    }
  });

  it('GET /v1/jobs: status, operation and metadata filters combine with the cursor; total counts the filtered set', async () => {
    const cases: { q: Record<string, string>; want: (j: (typeof seeded)[number]) => boolean }[] = [
      { q: { status: 'completed' }, want: (j) => j.status === 'completed' },
      { q: { status: 'failed' }, want: (j) => j.status === 'failed' },
      { q: { operation: 'image,diagram' }, want: (j) => j.operation === 'image' || j.operation === 'diagram' },
      { q: { 'metadata[tier]': 'gold' }, want: (j) => j.tier === 'gold' },
      { q: { status: 'completed', operation: 'image', 'metadata[tier]': 'silver' }, want: (j) => j.status === 'completed' && j.operation === 'image' && j.tier === 'silver' },
    ];
    for (const c of cases) {
      const label = JSON.stringify(c.q);
      const start = (await snapshot('jobs', c.q)).map(LISTS.jobs.id);
      const expected = seeded.filter(c.want).map((j) => j.id);
      // The seed is in the account from the start; the earlier test's writer added more (matching or not).
      assert.deepEqual(expected.filter((id) => !start.includes(id)), [], `${label}: the filter keeps every seeded match`);
      const first = await api(srv.baseUrl, 'GET', withQuery('/v1/jobs', { ...c.q, limit: 4 }), { key });
      assert.equal(first.body.total, start.length, `${label}: total counts the filtered set, not the page`);
      const bg = inserter();
      try {
        // One certain insert after each of the first pages (the background writer goes on throughout).
        const { rows } = await walk('jobs', { ...c.q, limit: 4 }, async (page) => page <= 3 && create(writer, 7000));
        const ids = rows.map(LISTS.jobs.id);
        assertExactlyOnce(start, ids, label);
        strictlyDescending(ids, label);
        const byId = new Map(seeded.map((j) => [j.id, j]));
        for (const id of ids) {
          const j = byId.get(id);
          if (j) assert.ok(c.want(j), `${label}: ${id} matches the filter`);
        }
        for (const r of rows) {
          if (c.q.status) assert.ok(c.q.status.split(',').includes(r.status), `${label}: status ${r.status}`);
          if (c.q.operation) assert.ok(c.q.operation.split(',').includes(r.operation), `${label}: operation ${r.operation}`);
          if (c.q['metadata[tier]']) assert.equal(r.metadata?.tier, c.q['metadata[tier]'], label);
        }
      } finally {
        await bg.stop();
      }
    }
  });

  it('GET /v1/account/ledger: a cursor walk under concurrent charges sees every existing entry once, newest first', async () => {
    const start = (await snapshot('ledger')).map(LISTS.ledger.id);
    assert.ok(start.length > 40, `holds, captures and releases of the seed (${start.length})`);
    const bg = inserter();
    try {
      const { rows } = await walk('ledger', { limit: 20 }, async (page) => page <= 4 && create(writer, 8000));
      const ids = rows.map(LISTS.ledger.id);
      assertExactlyOnce(start, ids, 'ledger');
      strictlyDescending(ids, 'ledger');
    } finally {
      await bg.stop();
    }
    // The walk's rows sum to what the account says, once the writer has stopped.
    const all = await walk('ledger', { limit: 100 });
    const profile = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
    const sum = all.rows.reduce((a, e) => a + Math.round(Number(e.amount_eur) * 1e6), 0);
    assert.equal(sum, Math.round(Number(profile.balance_eur) * 1e6));
  });

  it('GET /v1/webhooks/deliveries: a cursor walk under concurrent deliveries sees every existing one once, oldest first', async () => {
    // Deliveries are queued in the transaction of their job's events: the seed's are all there.
    const start = (await snapshot('deliveries')).map(LISTS.deliveries.id);
    assert.ok(start.length >= seeded.length, `at least one delivery per seeded job (${start.length})`);
    // New deliveries sort after the cursor (oldest first), so the writer's are walked too: it
    // writes during the first pages only, and then the walk catches up with the end.
    const bg = inserter();
    let rows: Row[];
    try {
      ({ rows } = await walk('deliveries', { limit: 8 }, async (page) => {
        if (page < 4) await create(writer, 9000);
        else await bg.stop();
      }));
    } finally {
      await bg.stop();
    }
    assert.ok(rows.length > start.length, 'the walk went on into the deliveries queued while it ran');
    assertExactlyOnce(start, rows.map(LISTS.deliveries.id), 'deliveries');
    // Oldest first: created_at never goes back, and one job's events come in seq order.
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1]!.created_at <= rows[i]!.created_at, 'oldest first');
    const lastSeq = new Map<string, number>();
    for (const d of rows) {
      assert.ok((lastSeq.get(d.job_id) ?? -1) < d.seq, `job ${d.job_id}: seq ascending`);
      lastSeq.set(d.job_id, d.seq);
    }
    // job_id combines with the cursor.
    const job = seeded[0]!.id;
    const one = await walk('deliveries', { job_id: job, limit: 1 });
    assert.ok(one.rows.length >= 1);
    assert.ok(one.rows.every((d) => d.job_id === job));
    assert.deepEqual(one.rows.map((d) => d.id), rows.filter((d) => d.job_id === job).map((d) => d.id));
  });

  it('GET /v1/batches/{id}/items: a fixed batch walked by cursor in index order while other jobs are created, with a status filter', async () => {
    const items = Array.from({ length: 23 }, (_, i) => ({ prompt: `batch item ${i}` }));
    const accepted = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items } });
    assert.equal(accepted.status, 202, accepted.text);
    const id = accepted.body.job_id as string;
    await waitFor(async () => (await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body.status === 'completed', 60_000, 100);
    const bg = inserter();
    try {
      const path = `/v1/batches/${id}/items`;
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const r = await api(srv.baseUrl, 'GET', withQuery(path, { limit: 5, starting_after: cursor }), { key });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.total, 23);
        seen.push(...r.body.items.map((i: Row) => i.index));
        cursor = r.body.next_cursor ?? undefined;
        pages++;
        await create(writer, 9500);
      } while (cursor);
      assert.deepEqual(seen, Array.from({ length: 23 }, (_, i) => i), 'every item once, in index order');
      assert.equal(pages, 5);
      // With a status filter: all completed (the cursor carries on within the filter), none failed.
      const completed = await api(srv.baseUrl, 'GET', `${path}?status=completed&limit=20`, { key });
      assert.equal(completed.body.items.length, 20);
      const rest = await api(srv.baseUrl, 'GET', withQuery(path, { status: 'completed', limit: 20, starting_after: completed.body.next_cursor }), { key });
      assert.deepEqual([rest.body.items.map((i: Row) => i.index), rest.body.next_cursor, rest.body.total], [[20, 21, 22], null, 23]);
      const failed = await api(srv.baseUrl, 'GET', `${path}?status=failed`, { key });
      assert.deepEqual([failed.body.items, failed.body.next_cursor, failed.body.total], [[], null, 0]);
    } finally {
      await bg.stop();
    }
  });

  it('the last page has next_cursor null, also when it is exactly full; an offset page hands over to the cursor', async () => {
    const gold = (await snapshot('jobs', { 'metadata[tier]': 'gold', status: 'failed' })).map(LISTS.jobs.id);
    assert.ok(gold.length >= 3, `enough rows for the boundary and an offset page before the last (${gold.length})`);
    const q = '/v1/jobs?metadata[tier]=gold&status=failed';
    const exact = await api(srv.baseUrl, 'GET', `${q}&limit=${gold.length}`, { key });
    assert.deepEqual([exact.body.generations.length, exact.body.next_cursor], [gold.length, null], 'a full last page says there is no next');
    const short = await api(srv.baseUrl, 'GET', `${q}&limit=${gold.length - 1}`, { key });
    assert.equal(short.body.next_cursor, gold[gold.length - 2], 'the jobs cursor is the last job id');
    const last = await api(srv.baseUrl, 'GET', `${q}&limit=${gold.length - 1}&starting_after=${short.body.next_cursor}`, { key });
    assert.deepEqual([last.body.generations.map(LISTS.jobs.id), last.body.next_cursor, last.body.total, last.body.offset], [[gold.at(-1)], null, gold.length, 0]);
    // An offset page gives a cursor too: the walk can switch to it.
    const mid = await api(srv.baseUrl, 'GET', `${q}&limit=1&offset=1`, { key });
    assert.equal(mid.body.offset, 1);
    const after = await api(srv.baseUrl, 'GET', `${q}&limit=100&starting_after=${mid.body.next_cursor}`, { key });
    assert.deepEqual(after.body.generations.map(LISTS.jobs.id), gold.slice(2));
    // Upper-case UUIDs are the same position.
    const upper = await api(srv.baseUrl, 'GET', `${q}&limit=100&starting_after=${String(mid.body.next_cursor).toUpperCase()}`, { key });
    assert.deepEqual(upper.body.generations.map(LISTS.jobs.id), gold.slice(2));
  });

  it('a malformed cursor, a cursor of another list, and a cursor with an offset are 400 in the one error shape', async () => {
    const ledgerCursor = (await api(srv.baseUrl, 'GET', '/v1/account/ledger?limit=1', { key })).body.next_cursor as string;
    const deliveryCursor = (await api(srv.baseUrl, 'GET', '/v1/webhooks/deliveries?limit=1', { key })).body.next_cursor as string;
    const batch = (await api(srv.baseUrl, 'GET', '/v1/jobs?operation=batch&limit=1', { key })).body.generations[0].job_id as string;
    const itemsPath = `/v1/batches/${batch}/items`;
    const itemCursor = (await api(srv.baseUrl, 'GET', `${itemsPath}?limit=1`, { key })).body.next_cursor as string;
    for (const c of [ledgerCursor, deliveryCursor, itemCursor]) assert.match(c, /^[A-Za-z0-9_-]+$/, 'opaque tokens are URL-safe');
    const cases: [string, string][] = [
      ['/v1/jobs?starting_after=not-a-uuid', 'querystring.starting_after'],
      [`/v1/jobs?starting_after=${otherJobId}&offset=3`, 'querystring.offset'],
      ['/v1/account/ledger?starting_after=%21%21', 'querystring.starting_after'],
      ['/v1/account/ledger?starting_after=Zm9v', 'querystring.starting_after'],
      [`/v1/account/ledger?starting_after=${deliveryCursor}`, 'querystring.starting_after'],
      [`/v1/account/ledger?starting_after=${ledgerCursor}&offset=1`, 'querystring.offset'],
      [`/v1/webhooks/deliveries?starting_after=${ledgerCursor}`, 'querystring.starting_after'],
      [`/v1/webhooks/deliveries?starting_after=${deliveryCursor.slice(0, -2)}`, 'querystring.starting_after'],
      [`/v1/webhooks/deliveries?starting_after=${deliveryCursor}&offset=2`, 'querystring.offset'],
      [`${itemsPath}?starting_after=${ledgerCursor}`, 'querystring.starting_after'],
      [`${itemsPath}?starting_after=${itemCursor}&offset=1`, 'querystring.offset'],
    ];
    for (const [p, field] of cases) {
      const r = await api(srv.baseUrl, 'GET', p, { key });
      assert.equal(r.status, 400, `${p}: ${r.text}`);
      assert.equal(r.body.error, 'bad_request', p);
      assert.equal(typeof r.body.message, 'string');
      assert.match(r.body.request_id, /^req_/);
      assert.equal(r.body.details.fields[0].path, field, `${p}: ${r.text}`);
    }
    // offset=0 with a cursor is no contradiction.
    const zero = await api(srv.baseUrl, 'GET', `/v1/account/ledger?starting_after=${ledgerCursor}&offset=0&limit=1`, { key });
    assert.equal(zero.status, 200, zero.text);
  });

  it("another account's job id as a cursor is only a position: it selects this account's rows and leaks none of the other's", async () => {
    const mine = new Set((await snapshot('jobs')).map(LISTS.jobs.id));
    const theirs = new Set((await snapshot('jobs', {}, other)).map(LISTS.jobs.id));
    assert.equal(theirs.size, 3);
    const r = await api(srv.baseUrl, 'GET', `/v1/jobs?limit=100&starting_after=${otherJobId}`, { key });
    assert.equal(r.status, 200, r.text);
    const ids: string[] = r.body.generations.map(LISTS.jobs.id);
    assert.ok(ids.length > 0);
    assert.deepEqual(ids.filter((id) => !mine.has(id)), [], 'only this account\'s jobs');
    assert.deepEqual(ids, [...mine].filter((id) => id < otherJobId).sort().reverse(), 'exactly this account\'s jobs older than that position');
    // And the other way round: this account's id as the other's cursor.
    const newest = [...mine].sort().at(-1)!;
    const back = await api(srv.baseUrl, 'GET', `/v1/jobs?limit=100&starting_after=${newest}`, { key: other });
    assert.deepEqual(new Set(back.body.generations.map(LISTS.jobs.id)), theirs);
    assert.equal(back.body.total, 3);
    // A job id that names no job at all is a position too.
    const nowhere = await api(srv.baseUrl, 'GET', '/v1/jobs?limit=100&starting_after=00000000-0000-7000-8000-000000000000', { key });
    assert.deepEqual([nowhere.body.generations, nowhere.body.next_cursor], [[], null]);
  });

  it('the CLI: jobs list --json shows next_cursor, --starting-after gives the next page, with --offset it is refused', async () => {
    const env = { EASEL_API_KEY: key, EASEL_BASE_URL: srv.baseUrl };
    const first = await runCli(['jobs', 'list', '--limit', '3', '--json'], env);
    assert.equal(first.code, 0, first.stderr);
    const page = JSON.parse(first.stdout);
    assert.equal(page.next_cursor, page.generations[2].job_id);
    const next = await runCli(['jobs', 'list', '--limit', '3', '--starting-after', page.next_cursor], env);
    assert.equal(next.code, 0, next.stderr);
    const api3 = await api(srv.baseUrl, 'GET', `/v1/jobs?limit=3&starting_after=${page.next_cursor}`, { key });
    assert.deepEqual(next.stdout.trim().split('\n').map((l) => l.split('\t')[0]), api3.body.generations.map(LISTS.jobs.id));
    const both = await runCli(['jobs', 'list', '--starting-after', page.next_cursor, '--offset', '2'], env);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /^error: bad_request: querystring\.offset /m);
  });

  it('the SDK walks every list by cursor (iterateJobs with filters, iterateLedger, iterateDeliveries, batchItems) under concurrent inserts', async () => {
    const easel = new Easel({ apiKey: key, baseUrl: srv.baseUrl });
    const start = {
      jobs: (await snapshot('jobs', { status: 'completed', operation: 'image' })).map(LISTS.jobs.id),
      ledger: (await snapshot('ledger')).map(LISTS.ledger.id),
      deliveries: (await snapshot('deliveries')).map(LISTS.deliveries.id),
    };
    const bg = inserter();
    try {
      const jobs: string[] = [];
      for await (const j of easel.iterateJobs({ status: 'completed', operation: 'image', limit: 6 })) {
        assert.deepEqual([j.status, j.operation], ['completed', 'image']);
        jobs.push(j.job_id);
      }
      assertExactlyOnce(start.jobs, jobs, 'sdk jobs');
      strictlyDescending(jobs, 'sdk jobs');
      const ledger: string[] = [];
      for await (const e of easel.iterateLedger({ limit: 25 })) ledger.push(e.id);
      assertExactlyOnce(start.ledger, ledger, 'sdk ledger');
      strictlyDescending(ledger, 'sdk ledger');
      const deliveries: string[] = [];
      for await (const d of easel.iterateDeliveries({ limit: 30 })) {
        deliveries.push(d.id);
        if (deliveries.length >= start.deliveries.length + 40) break; // the writer keeps appending at the end
      }
      assertExactlyOnce(start.deliveries, deliveries, 'sdk deliveries');
      // A page of the SDK's own: starting_after takes a next_cursor.
      const first = await easel.listJobs({ limit: 2, status: 'completed', operation: 'image' });
      const second = await easel.listJobs({ limit: 2, status: 'completed', operation: 'image', starting_after: first.next_cursor! });
      assert.equal(second.generations.some((g) => first.generations.some((f) => f.job_id === g.job_id)), false);
      // Batch items: the offset places the first page, the cursor carries on.
      const batch = (await easel.listJobs({ operation: 'batch', limit: 1 })).generations[0]!.job_id;
      const items: number[] = [];
      for await (const i of easel.batchItems(batch, { limit: 4, offset: 2 })) items.push(i.index);
      assert.deepEqual(items, Array.from({ length: 21 }, (_, i) => i + 2));
    } finally {
      await bg.stop();
    }
  });
});
