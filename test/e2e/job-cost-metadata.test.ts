import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, api } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { assertSpecShape, openApiValidator } from '../helpers/spec-shapes.js';

describe('max_cost_eur, the cost block, metadata and GET /v1/jobs filters', () => {
  let srv: EaselProcess;
  let validate: (name: string, v: unknown) => void;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_ALLOW_LOOPBACK_URLS: 'true' } });
    validate = openApiValidator((await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body);
  });
  after(() => srv.stop());

  const job = async (key: string, id: string) => {
    const r = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key });
    assert.equal(r.status, 200, r.text);
    assertSpecShape('job', r.body);
    validate('Job', r.body);
    return r.body;
  };

  it('a create whose price is above max_cost_eur is refused with 422 and charges nothing; at or under it runs', async () => {
    const key = await srv.createKey('maxcost', '1');
    const over = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a red kite', max_cost_eur: '0.019999' } });
    assert.equal(over.status, 422, over.text);
    assert.equal(over.body.error, 'max_cost_exceeded');
    assert.deepEqual([over.body.details.price_eur, over.body.details.max_cost_eur], ['0.020000', '0.019999']);
    const story = {
      characters: [{ name: 'Kit', appearance: 'a kite flyer' }],
      scenes: [{ prompt: 'Kit on the hill', characters: ['Kit'] }, { prompt: 'Kit runs', characters: ['Kit'] }],
      max_cost_eur: 0.05,
    };
    const storyOver = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: story });
    assert.equal(storyOver.status, 422, storyOver.text);
    assert.equal(storyOver.body.details.price_eur, '0.060000');
    const graphicOver = await api(srv.baseUrl, 'POST', '/v1/generate/graphic', { key, body: { prompt: 'a kite icon', max_cost_eur: '0.01' } });
    assert.equal(graphicOver.status, 422, graphicOver.text);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.total, 0, 'no job was created');
    assert.equal((await auditLedger(srv, 'maxcost')).available, 1_000_000);

    const ok = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a red kite', max_cost_eur: '0.02' } });
    assert.equal(ok.status, 200, ok.text);
    const j = await job(key, ok.headers.get('x-easel-job-id')!);
    assert.equal(j.max_cost_eur, '0.020000');
    assert.deepEqual(j.cost, { held_eur: '0.000000', charged_eur: '0.020000', refunded_eur: '0.000000' });

    // Processing is free: any max_cost_eur passes, and the cost block says 0.
    const edited = await api(srv.baseUrl, 'POST', '/v1/process/flip', { key, body: { input_image_url: ok.body.formats.png.url, direction: 'horizontal', max_cost_eur: '0' } });
    assert.equal(edited.status, 200, edited.text);
    const pj = await job(key, edited.body.job_id);
    assert.deepEqual(pj.cost, { held_eur: '0.000000', charged_eur: '0.000000', refunded_eur: '0.000000' });
    const audit = await auditLedger(srv, 'maxcost');
    assert.equal(audit.captures, 20_000);
    assert.deepEqual(audit.chargeMismatches, []);
  });

  it('metadata is stored and returned on the job; its limits are enforced before anything is charged', async () => {
    const key = await srv.createKey('metadata', '1');
    const meta = { customer: 'acme', 'order.id': 'A-1001', empty: '' };
    const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a blue kite', metadata: meta } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual((await job(key, r.headers.get('x-easel-job-id')!)).metadata, meta);

    const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    const cases: [unknown, string][] = [
      [tooMany, 'metadata'],
      [{ customer: 'x'.repeat(501) }, 'metadata.customer'],
      [{ ['k'.repeat(41)]: 'v' }, 'metadata'],
      [{ 'has space': 'v' }, 'metadata'],
      [{ n: 5 }, 'metadata.n'],
    ];
    for (const [metadata, path] of cases) {
      const bad = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a kite', metadata } });
      assert.ok(bad.status === 400 || bad.status === 422, `${JSON.stringify(metadata).slice(0, 80)} → ${bad.status}`);
      assert.ok(bad.body.details.fields.some((f: any) => f.path.startsWith(path)), bad.text);
    }
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.total, 1);
  });

  it('GET /v1/jobs filters by status, operation, created range and metadata, combined with limit/offset/total', async () => {
    const key = await srv.createKey('filters', '1');
    const t0 = new Date(Date.now() - 1000).toISOString();
    const ids: string[] = [];
    for (const [i, customer] of ['acme', 'acme', 'globex'].entries()) {
      const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `kite ${i}`, metadata: { customer, n: String(i) } } });
      assert.equal(r.status, 200, r.text);
      ids.push(r.headers.get('x-easel-job-id')!);
    }
    const g = await api(srv.baseUrl, 'POST', '/v1/generate/graphic', { key, body: { prompt: 'kite icon', metadata: { customer: 'acme' } } });
    assert.equal(g.status, 200, g.text);
    const list = async (q: string) => {
      const res = await api(srv.baseUrl, 'GET', `/v1/jobs${q}`, { key });
      assert.equal(res.status, 200, `${q}: ${res.text}`);
      assertSpecShape('jobList', res.body);
      return res.body;
    };
    assert.equal((await list('')).total, 4);
    const acme = await list('?metadata[customer]=acme');
    assert.equal(acme.total, 3);
    const acmeImages = await list('?metadata[customer]=acme&operation=image&limit=1&offset=1');
    assert.equal(acmeImages.total, 2);
    assert.deepEqual(acmeImages.generations.map((j: any) => j.job_id), [ids[0]]);
    assert.equal((await list('?metadata[customer]=acme&metadata[n]=1')).total, 1);
    assert.equal((await list('?metadata[customer]=nobody')).total, 0);
    assert.equal((await list('?operation=graphic,image&status=completed')).total, 4);
    assert.equal((await list('?status=failed,canceled')).total, 0);
    assert.equal((await list(`?created_after=${encodeURIComponent(t0)}`)).total, 4);
    assert.equal((await list(`?created_before=${encodeURIComponent(t0)}`)).total, 0);
    assert.equal((await list(`?created_after=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).total, 0);
    // Malformed filters are refused, naming the parameter.
    for (const q of ['?status=done', '?created_after=yesterday', '?metadata[bad key]=x', '?colour=red']) {
      const res = await api(srv.baseUrl, 'GET', `/v1/jobs${q}`, { key });
      assert.ok(res.status === 400 || res.status === 422, `${q} → ${res.status}`);
    }
    // Filters never cross accounts.
    const other = await srv.createKey('filters-other', '1');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs?metadata[customer]=acme', { key: other })).body.total, 0);
  });
});
