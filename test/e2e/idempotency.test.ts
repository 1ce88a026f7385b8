import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, api, waitFor, type ApiResponse } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { quadrants } from '../helpers/images.js';

const PRICE = 20_000; // easel-sketch, EUR 0.02 in micro-EUR

async function form(base: string, p: string, key: string, idemKey: string, file: Buffer, fields: Record<string, string>): Promise<ApiResponse> {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append('image', new Blob([new Uint8Array(file)], { type: 'image/png' }), 'in.png');
  const res = await fetch(base + p, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'idempotency-key': idemKey }, body: fd });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null, text };
}

describe('Idempotency-Key on creates', () => {
  let srv: EaselProcess;

  before(async () => {
    // Latency keeps the first job running while its duplicates arrive.
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '600', EASEL_MAX_CONCURRENT_JOBS: '100' } });
  });
  after(() => srv.stop());

  it('20 parallel identical image creates with one key make one job and one charge; every answer names that job', async () => {
    const key = await srv.createKey('idem-parallel', '1');
    const body = { prompt: 'a lighthouse on a cliff at dusk', seed: 7 };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body, headers: { 'idempotency-key': 'order-4711' } })),
    );
    for (const a of answers) assert.equal(a.status, 200, a.text);
    const ids = new Set(answers.map((a) => a.headers.get('x-easel-job-id')));
    assert.equal(ids.size, 1, [...ids].join(','));
    const [jobId] = [...ids];
    // The same body every time: same image, same price, same balance after.
    assert.equal(new Set(answers.map((a) => `${a.body.id}|${a.body.image_hash}|${a.body.cost_eur}|${a.body.balance_eur}`)).size, 1);
    assert.equal(answers[0]!.body.id, jobId);
    assert.equal(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true').length, 19);

    const list = (await api(srv.baseUrl, 'GET', '/v1/jobs?limit=100', { key })).body;
    assert.equal(list.total, 1);
    const audit = await auditLedger(srv, 'idem-parallel');
    assert.equal(audit.captures, PRICE);
    assert.equal(audit.available, 1_000_000 - PRICE);
    assert.equal(audit.held, 0);
    assert.equal(audit.ledgerAvailable, audit.available);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.deepEqual(audit.chargeMismatches, []);

    // A retry after completion (keys last 24 h) still answers with the same job, uncharged.
    const later = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { seed: 7, prompt: 'a lighthouse on a cliff at dusk' }, headers: { 'idempotency-key': 'order-4711' } });
    assert.equal(later.status, 200);
    assert.equal(later.headers.get('x-easel-job-id'), jobId);
    assert.equal(later.body.image_hash, answers[0]!.body.image_hash);
    assert.equal((await auditLedger(srv, 'idem-parallel')).captures, PRICE);
  });

  it('same key with a different body, or on another endpoint, is 409 idempotency_conflict and creates nothing', async () => {
    const key = await srv.createKey('idem-conflict', '1');
    const first = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'red apple' }, headers: { 'idempotency-key': 'k-1' } });
    assert.equal(first.status, 200);
    const other = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'green apple' }, headers: { 'idempotency-key': 'k-1' } });
    assert.equal(other.status, 409, other.text);
    assert.equal(other.body.error, 'idempotency_conflict');
    assert.ok(other.body.request_id);
    const elsewhere = await api(srv.baseUrl, 'POST', '/v1/generate/graphic', { key, body: { prompt: 'red apple' }, headers: { 'idempotency-key': 'k-1' } });
    assert.equal(elsewhere.status, 409);
    assert.equal(elsewhere.body.error, 'idempotency_conflict');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.total, 1);
    assert.equal((await auditLedger(srv, 'idem-conflict')).captures, PRICE);
  });

  it('keys are per account, and longer than 255 characters is 400', async () => {
    const a = await srv.createKey('idem-a', '1');
    const b = await srv.createKey('idem-b', '1');
    const body = { prompt: 'blue bicycle' };
    const ra = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key: a, body, headers: { 'idempotency-key': 'shared-key' } });
    const rb = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key: b, body, headers: { 'idempotency-key': 'shared-key' } });
    assert.equal(ra.status, 200);
    assert.equal(rb.status, 200);
    assert.notEqual(ra.headers.get('x-easel-job-id'), rb.headers.get('x-easel-job-id'));
    assert.equal(rb.headers.get('idempotent-replayed'), null);

    const long = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key: a, body, headers: { 'idempotency-key': 'x'.repeat(256) } });
    assert.equal(long.status, 400);
    assert.equal(long.body.error, 'bad_request');
    const max = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key: a, body, headers: { 'idempotency-key': 'y'.repeat(255) } });
    assert.equal(max.status, 200);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: a })).body.total, 2);
  });

  it('a story retried with its key while running answers the same 202 and is charged once', async () => {
    const key = await srv.createKey('idem-story', '1');
    const story = {
      characters: [{ name: 'Ada', appearance: 'a tall engineer in a green coat' }],
      scenes: [{ prompt: 'Ada repairs a clock', characters: ['Ada'] }, { prompt: 'Ada walks home', characters: ['Ada'] }],
    };
    const headers = { 'idempotency-key': 'story-1' };
    const first = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: story, headers });
    const second = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: story, headers });
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    const job = await waitFor(async () => {
      const j = (await api(srv.baseUrl, 'GET', `/v1/jobs/${first.body.job_id}`, { key })).body;
      return j.status === 'completed' ? j : null;
    });
    assert.equal(job.scenes_completed, 2);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.total, 1);
    const audit = await auditLedger(srv, 'idem-story');
    assert.equal(audit.captures, 3 * PRICE); // one portrait + two scenes, once
    assert.equal(audit.held, 0);
  });

  it('multipart: the same file under one key replays; different file bytes are a conflict', async () => {
    const key = await srv.createKey('idem-multipart', '1');
    const png = await quadrants('png');
    const fields = { prompt: 'make it brighter' };
    const one = await form(srv.baseUrl, '/v1/edit/image', key, 'edit-1', png, fields);
    assert.equal(one.status, 200, one.text);
    const two = await form(srv.baseUrl, '/v1/edit/image', key, 'edit-1', png, fields);
    assert.equal(two.status, 200, two.text);
    assert.equal(two.headers.get('x-easel-job-id'), one.headers.get('x-easel-job-id'));
    const other = await form(srv.baseUrl, '/v1/edit/image', key, 'edit-1', await quadrants('webp'), fields);
    assert.equal(other.status, 409);
    assert.equal(other.body.error, 'idempotency_conflict');
    assert.equal((await auditLedger(srv, 'idem-multipart')).captures, PRICE);
  });
});
