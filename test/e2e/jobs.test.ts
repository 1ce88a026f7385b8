import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, api, waitFor } from '../helpers/server.js';
import { assertSpecShape, openApiValidator } from '../helpers/spec-shapes.js';

describe('GET /v1/jobs and /v1/jobs/{id}', () => {
  let srv: EaselProcess;
  let key: string;
  let otherKey: string;
  let validateOpenApi: (name: string, v: unknown) => void;

  before(async () => {
    // One slow worker slot makes pending and processing states observable.
    srv = await EaselProcess.start({ env: { EASEL_WORKER_CONCURRENCY: '1', EASEL_SKETCH_LATENCY_MS: '1500' } });
    key = await srv.createKey('jobs-main', '10');
    otherKey = await srv.createKey('jobs-other', '10');
    validateOpenApi = openApiValidator((await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body);
  });
  after(() => srv.stop());

  const getJob = async (id: string, k = key) => {
    const r = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key: k });
    if (r.status === 200) {
      assertSpecShape('job', r.body);
      validateOpenApi('Job', r.body);
    }
    return r;
  };

  it('a job moves pending → processing → completed, each state with exactly the fields the spec allows', async () => {
    const first = api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'first in line' } });
    const second = api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'second in line' } });
    const list = await waitFor(async () => {
      const r = await api(srv.baseUrl, 'GET', '/v1/jobs', { key });
      return r.body.total === 2 && r.body.generations.length === 2 ? r.body : null;
    });
    assertSpecShape('jobList', list);
    const ids: string[] = list.generations.map((g: any) => g.job_id);
    const seen = new Map<string, string[]>();
    const statuses: Record<string, any> = {};
    await waitFor(async () => {
      for (const id of ids) {
        const j = (await getJob(id)).body;
        statuses[id] = j;
        const s = seen.get(id) ?? [];
        if (s[s.length - 1] !== j.status) s.push(j.status);
        seen.set(id, s);
      }
      return ids.every((id) => statuses[id].status === 'completed');
    }, 30_000, 100);
    const order = ['pending', 'processing', 'completed'];
    for (const [id, s] of seen) {
      const idx = s.map((x) => order.indexOf(x));
      assert.deepEqual(idx, [...idx].sort(), `status only moves forward for ${id}: ${s.join(' → ')}`);
    }
    // With one worker slot, one of the two must have been seen waiting.
    assert.ok([...seen.values()].some((s) => s.includes('pending')), JSON.stringify([...seen]));
    assert.ok([...seen.values()].some((s) => s.includes('processing')), JSON.stringify([...seen]));
    const [r1, r2] = await Promise.all([first, second]);
    assert.equal(r1.status, 200);
    assert.equal(r2.status, 200);
    for (const id of ids) {
      const j = statuses[id];
      assert.equal(j.scenes_completed, 1);
      assert.equal(j.scenes_total, 1);
      assert.equal(j.operation, 'image');
      assert.ok(Date.parse(j.started_at) >= Date.parse(j.created_at) - 1000);
      assert.ok(Date.parse(j.completed_at) >= Date.parse(j.started_at));
    }
  });

  it('lists newest first with limit, offset and total', async () => {
    await Promise.all(['a', 'b', 'c'].map((p) => api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `list ${p}` } })));
    const all = await api(srv.baseUrl, 'GET', '/v1/jobs?limit=100', { key });
    assertSpecShape('jobList', all.body);
    assert.equal(all.body.total, 5);
    assert.equal(all.body.limit, 100);
    const created = all.body.generations.map((g: any) => g.job_id);
    assert.deepEqual(created, [...created].sort().reverse(), 'newest first (UUIDv7 order)');
    const def = await api(srv.baseUrl, 'GET', '/v1/jobs', { key });
    assert.equal(def.body.limit, 20);
    assert.equal(def.body.offset, 0);
    const page = await api(srv.baseUrl, 'GET', '/v1/jobs?limit=2&offset=1', { key });
    assert.equal(page.body.total, 5);
    assert.deepEqual(page.body.generations.map((g: any) => g.job_id), created.slice(1, 3));
    const beyond = await api(srv.baseUrl, 'GET', '/v1/jobs?offset=50', { key });
    assert.deepEqual(beyond.body.generations, []);
    assert.equal(beyond.body.total, 5);
  });

  it("another account's job is 404 (never 403), on both poll paths, and absent from its list", async () => {
    const mine = (await api(srv.baseUrl, 'GET', '/v1/jobs?limit=1', { key })).body.generations[0].job_id;
    const r = await getJob(mine, otherKey);
    assert.equal(r.status, 404);
    assert.equal(r.body.error, 'not_found');
    const story = await api(srv.baseUrl, 'GET', `/v1/generate/story/${mine}`, { key: otherKey });
    assert.equal(story.status, 404);
    const unknown = await api(srv.baseUrl, 'GET', '/v1/jobs/0190a6d2-0000-7000-8000-000000000000', { key: otherKey });
    assert.equal(unknown.body.message.replace(/[0-9a-f-]{36}/, 'ID'), r.body.message.replace(/[0-9a-f-]{36}/, 'ID'), 'same answer as for a job that does not exist');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: otherKey })).body.total, 0);
  });

  it('GET /v1/generate/story/{id} answers exactly like GET /v1/jobs/{id}', async () => {
    const id = (await api(srv.baseUrl, 'GET', '/v1/jobs?limit=1', { key })).body.generations[0].job_id;
    const a = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key });
    const b = await api(srv.baseUrl, 'GET', `/v1/generate/story/${id}`, { key });
    const strip = (j: any) => JSON.parse(JSON.stringify(j).replace(/exp=\d+&sig=[^"&]+/g, 'SIG').replace(/X-Amz-[^"]+/g, 'SIG').replace(/"expires_at":"[^"]+"/g, '"expires_at":"X"'));
    assert.deepEqual(strip(b.body), strip(a.body));
  });

  it('a job survives its client disconnecting: the abandoned request still completes and is listed', async () => {
    const ac = new AbortController();
    const p = fetch(srv.url('/v1/generate/image'), {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'abandoned request' }),
      signal: ac.signal,
    }).catch(() => null);
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    await p;
    const job = await waitFor(async () => {
      const l = await api(srv.baseUrl, 'GET', '/v1/jobs?limit=1', { key });
      return l.body.total === 6 && l.body.generations[0].status === 'completed' ? l.body.generations[0] : null;
    }, 30_000, 200);
    assert.equal(job.status, 'completed');
    assert.equal(job.result.ai_generated, true);
  });
});
