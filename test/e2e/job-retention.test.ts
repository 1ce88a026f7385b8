import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import SQLite from 'better-sqlite3';
import sharp from 'sharp';
import pg from 'pg';
import { EaselProcess, MODE, S3_CREDS, S3_ENDPOINT, api, download, waitFor } from '../helpers/server.js';
import { assertSpecShape, openApiValidator } from '../helpers/spec-shapes.js';
import { allStoredKeys, openServerStores, seedEndedJobs } from '../helpers/expired-jobs.js';
import { SWEEP_BATCH } from '../../src/jobs/retention.js';
import { mapLimit } from '../../src/util/map-limit.js';

/** Every stored blob key under a prefix (`jobs/<id>`, `uploads`), read from the real store (the data directory, or the S3 bucket). */
async function keysUnder(srv: EaselProcess, prefix: string): Promise<string[]> {
  if (MODE === 'scaleout') {
    const s3 = new S3Client({ endpoint: S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: S3_CREDS });
    try {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: srv.bucket!, Prefix: `${prefix}/` }));
      return (page.Contents ?? []).map((o) => o.Key!);
    } finally {
      s3.destroy();
    }
  }
  const dir = path.join(srv.dataDir, 'blobs', ...prefix.split('/'));
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : [];
}

const storedKeys = (srv: EaselProcess, jobId: string) => keysUnder(srv, `jobs/${jobId}`);

/** Runs one statement against the server's real database (SQLite file or its PostgreSQL database). */
async function sqlOn(srv: EaselProcess, text: string, params: unknown[]): Promise<unknown[]> {
  if (srv.databaseUrl) {
    const client = new pg.Client({ connectionString: srv.databaseUrl });
    await client.connect();
    try {
      return (await client.query(text, params)).rows;
    } finally {
      await client.end();
    }
  }
  const db = new SQLite(path.join(srv.dataDir, 'easel.sqlite'));
  try {
    const stmt = db.prepare(text.replace(/\$\d+/g, '?'));
    return stmt.reader ? stmt.all(...params) : (stmt.run(...params), []);
  } finally {
    db.close();
  }
}

describe('retention: result_expires_at, POST /v1/jobs/{id}/urls, and the sweeper', () => {
  let srv: EaselProcess;
  let validate: (name: string, v: unknown) => void;

  before(async () => {
    // Retention shortened to 4 s for the test (EASEL_RETENTION_S); the sweeper looks every 300 ms.
    srv = await EaselProcess.start({ env: { EASEL_RETENTION_S: '4', EASEL_RETENTION_SWEEP_MS: '300' } });
    validate = openApiValidator((await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body);
  });
  after(() => srv.stop());

  const getJob = async (key: string, id: string) => {
    const r = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key });
    assert.equal(r.status, 200, r.text);
    assertSpecShape('job', r.body);
    validate('Job', r.body);
    return r.body;
  };

  it('files are served and re-signed while kept, then deleted; the job still answers, marked expired, without URLs', async () => {
    const key = await srv.createKey('retention', '1');
    const short = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a sandcastle at low tide' } });
    assert.equal(short.status, 200, short.text);
    const kept = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a stone castle', retention_days: 1 } });
    assert.equal(kept.status, 200, kept.text);
    const id = short.headers.get('x-easel-job-id')!;
    const keptId = kept.headers.get('x-easel-job-id')!;
    const oldUrl = short.body.formats.png.url;

    const job = await getJob(key, id);
    assert.ok(job.result_expires_at, 'an ended job says until when its files are kept');
    assert.equal(job.result_expired, undefined);
    const resigned = await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/urls`, { key });
    assert.equal(resigned.status, 200, resigned.text);
    validate('Job', resigned.body);
    assert.equal((await download(resigned.body.result.formats.webp.url)).status, 200);
    assert.ok((await storedKeys(srv, id)).length > 0);
    const other = await srv.createKey('retention-other', '1');
    assert.equal((await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/urls`, { key: other })).status, 404);

    const expired = await waitFor(async () => {
      const j = await getJob(key, id);
      return j.result_expired ? j : null;
    }, 30_000, 200);
    assert.equal(expired.status, 'completed');
    assert.equal(expired.result, undefined, 'no result, no URLs');
    assert.equal(expired.result_expires_at, undefined);
    assert.deepEqual(await storedKeys(srv, id), [], 'every file of the job is gone from storage');
    const dl = await download(oldUrl);
    assert.ok(dl.status === 404 || dl.status === 403, `an old URL no longer serves the file (${dl.status})`);
    const gone = await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/urls`, { key });
    assert.equal(gone.status, 410);
    assert.equal(gone.body.error, 'result_expired');
    // The history stays: the list still has it, with its cost.
    const listed = (await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.generations.find((g: any) => g.job_id === id);
    assert.equal(listed.result_expired, true);
    assert.equal(listed.cost.charged_eur, '0.020000');

    // A job created with retention_days: 1 is untouched.
    const k = await getJob(key, keptId);
    assert.equal(k.result_expired, undefined);
    assert.ok(Date.parse(k.result_expires_at) > Date.now() + 23 * 3600_000);
    assert.equal((await download(k.result.formats.png.url)).status, 200);
    assert.ok((await storedKeys(srv, keptId)).length > 0);
  });

  it('the files sent with a multipart edit belong to its job: kept while its result is, deleted with it', async () => {
    const key = await srv.createKey('retention-input', '1');
    const before = new Set(await keysUnder(srv, 'uploads'));
    const fd = new FormData();
    const red = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c00' } }).png().toBuffer();
    fd.append('image', new Blob([new Uint8Array(red)], { type: 'image/png' }), 'red.png');
    fd.append('prompt', 'make it blue');
    const res = await fetch(`${srv.baseUrl}/v1/edit/image`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: fd });
    assert.equal(res.status, 200, await res.clone().text());
    const id = res.headers.get('x-easel-job-id')!;
    const input = (await keysUnder(srv, 'uploads')).filter((k) => !before.has(k));
    assert.equal(input.length, 1, 'the sent file is stored once, as the job\'s input');
    await waitFor(async () => ((await getJob(key, id)).result_expired ? true : null), 30_000, 200);
    const after = await waitFor(async () => {
      const left = await keysUnder(srv, 'uploads');
      return left.includes(input[0]!) ? null : left;
    }, 10_000, 200);
    assert.ok(!after.includes(input[0]!), 'the input file went with the job');
  });

  it('retention_days is validated', async () => {
    const key = await srv.createKey('retention-bad', '1');
    for (const retention_days of [0, 3651, 1.5, '7']) {
      const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'x', retention_days } });
      assert.ok(r.status === 400 || r.status === 422, `${retention_days} → ${r.status}`);
    }
  });
  it('an account default applies to jobs that give no retention_days; a request still overrides it', async () => {
    const key = await srv.createKey('retention-account', '1');
    const settings = await api(srv.baseUrl, 'GET', '/v1/account/settings', { key });
    assert.equal(settings.status, 200, settings.text);
    assert.equal(settings.body.retention_days, null);
    assert.equal(settings.body.effective_retention_days, 4 / 86_400, 'the server default (EASEL_RETENTION_S=4 here)');
    for (const bad of [0, 3651, 2.5, '7', -1]) {
      const r = await api(srv.baseUrl, 'PUT', '/v1/account/settings', { key, body: { retention_days: bad } });
      assert.ok(r.status === 400 || r.status === 422, `${bad} → ${r.status}`);
      assert.match(r.body.request_id ?? r.headers.get('x-request-id') ?? '', /^req_/);
    }
    const put = await api(srv.baseUrl, 'PUT', '/v1/account/settings', { key, body: { retention_days: 9 } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.body, { retention_days: 9, effective_retention_days: 9 });

    const days = (job: any) => (Date.parse(job.result_expires_at) - Date.parse(job.completed_at)) / 86_400_000;
    const byDefault = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'kept by the account default' } });
    assert.equal(byDefault.status, 200, byDefault.text);
    const a = await getJob(key, byDefault.body.id);
    assert.ok(Math.abs(days(a) - 9) < 0.001, `kept ${days(a)} days`);
    const overridden = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'kept as asked', retention_days: 2 } });
    const b = await getJob(key, overridden.body.id);
    assert.ok(Math.abs(days(b) - 2) < 0.001, `kept ${days(b)} days`);

    // Another account is unaffected, and null returns to the server default.
    const other = await srv.createKey('retention-unaffected', '1');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/account/settings', { key: other })).body.retention_days, null);
    const reset = await api(srv.baseUrl, 'PUT', '/v1/account/settings', { key, body: { retention_days: null } });
    assert.equal(reset.body.retention_days, null);
  });
  it('an Idempotency-Key past its 24 h is swept from the database and may be used for a new request', async () => {
    const key = await srv.createKey('retention-idem', '1');
    const headers = { 'idempotency-key': 'nightly-run-2026-11-28' };
    const first = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, headers, body: { prompt: 'first use of the key' } });
    assert.equal(first.status, 200, first.text);
    const conflict = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, headers, body: { prompt: 'another body' } });
    assert.equal(conflict.status, 409, 'within 24 h another body under the key is a conflict');
    // Age the key past its 24 h in the real database; the sweeper (every 300 ms here) drops it.
    await sqlOn(srv, 'update idempotency_keys set expires_at = $1 where key = $2', [Date.now() - 1000, headers['idempotency-key']]);
    await waitFor(async () => (await sqlOn(srv, 'select key from idempotency_keys where key = $1', [headers['idempotency-key']])).length === 0, 20_000, 200);
    const reused = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, headers, body: { prompt: 'another body' } });
    assert.equal(reused.status, 200, reused.text);
    assert.notEqual(reused.body.id, first.body.id, 'a new job, not a replay');
  });
});

describe('retention at scale: a backlog of expired jobs larger than a batch', () => {
  let srv: EaselProcess;
  let validate: (name: string, v: unknown) => void;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_RETENTION_SWEEP_MS: '200' } });
    validate = openApiValidator((await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body);
  });
  after(() => srv.stop());

  it('every file of every due job is deleted and every one reads as expired; jobs not yet due keep theirs', async () => {
    const key = await srv.createKey('retention-backlog', '1');
    // A real job is the template: its stored result, keys and all, is cloned for each seeded job.
    const real = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'the template of a backlog' } });
    assert.equal(real.status, 200, real.text);
    const realId = real.headers.get('x-easel-job-id')!;
    const [row] = (await sqlOn(srv, 'select account_id, operation, model, result_json from jobs where id = $1', [realId])) as { account_id: string; operation: string; model: string; result_json: string }[];
    assert.ok(row!.result_json.includes(`jobs/${realId}/run-1/image.png`), 'the image pipeline keeps the PNG where the seeded jobs have theirs');
    const { db, blob } = openServerStores(srv);
    const now = Date.now();
    const count = SWEEP_BATCH * 2 + 100;
    const seed = { accountId: row!.account_id, operation: row!.operation, model: row!.model, template: { resultJson: row!.result_json, templateId: realId }, files: 1 as const };
    let due: Awaited<ReturnType<typeof seedEndedJobs>>;
    let later: typeof due;
    try {
      // Due since a second ago (the sweeper starts on them while the rest is still being written), with an owned input file every 100th.
      due = await seedEndedJobs(db, blob, { ...seed, count, expiresAt: now - 1000, inputEvery: 100 });
      later = await seedEndedJobs(db, blob, { ...seed, count: 30, expiresAt: now + 3_600_000 });
    } finally {
      await db.destroy();
    }
    const dueIds = due.map((j) => j.id);
    await waitFor(async () => {
      const [left] = (await sqlOn(srv, 'select count(*) as n from jobs where result_expires_at <= $1 and result_expired_at is null', [now])) as { n: number | string }[];
      return Number(left!.n) === 0;
    }, 600_000, 500);

    const stored = new Set(await allStoredKeys(srv));
    const dueKeys = due.flatMap((j) => j.keys);
    assert.equal(dueKeys.filter((k) => k.startsWith('uploads/')).length, Math.ceil(count / 100));
    assert.deepEqual(dueKeys.filter((k) => stored.has(k)), [], 'no file of a swept job is left, owned inputs included');
    for (const j of later) for (const k of j.keys) assert.ok(stored.has(k), `${k} of a job not yet due is kept`);
    assert.ok([...stored].some((k) => k.startsWith(`jobs/${realId}/`)), 'the template job, kept for the default retention, is untouched');

    await mapLimit(dueIds, 8, async (id) => {
      const r = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key });
      assert.equal(r.status, 200, r.text);
      validate('Job', r.body);
      assert.equal(r.body.result_expired, true, `${id} reads as expired`);
      assert.equal(r.body.result, undefined);
    });
    for (const j of later) {
      const r = await api(srv.baseUrl, 'GET', `/v1/jobs/${j.id}`, { key });
      assert.equal(r.status, 200, r.text);
      validate('Job', r.body);
      assert.equal(r.body.result_expired, undefined);
      assert.ok(Date.parse(r.body.result_expires_at) > Date.now());
      assert.equal((await download(r.body.result.formats.png.url)).status, 200, 'its image is still served');
    }
  });
});
