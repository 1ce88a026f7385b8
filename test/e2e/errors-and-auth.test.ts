import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, api } from '../helpers/server.js';
import { errorOf, fillPath, isOpenAIShaped, operationsOf } from '../helpers/openapi.js';
import { writeDb } from '../helpers/store-snapshot.js';

/** Every error this slice can produce, each in the one shape with a request id, changing nothing. */
describe('errors and auth', () => {
  let srv: EaselProcess;
  let key: string;
  let poorKey: string;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_MAX_BODY_BYTES: '65536' } });
    key = await srv.createKey('errors-main', '5');
    poorKey = await srv.createKey('errors-poor');
  });
  after(() => srv.stop());

  const assertErrorShape = (res: { status: number; body: any; headers: Headers }, status: number, code: string) => {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.error, code);
    assert.equal(typeof res.body.message, 'string');
    assert.ok(res.body.message.length > 0);
    assert.equal(typeof res.body.request_id, 'string');
    assert.equal(res.headers.get('x-request-id'), res.body.request_id);
    assert.ok(!/at .*\.(js|ts):\d+/.test(JSON.stringify(res.body)), 'no stack trace');
    assert.ok(!/select |insert |sqlite/i.test(JSON.stringify(res.body)), 'no SQL');
  };

  const balance = async (k: string) => (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: k })).body.user;

  it('401 auth_invalid without a key, with a malformed key, with an unknown key', async () => {
    assertErrorShape(await api(srv.baseUrl, 'GET', '/v1/jobs'), 401, 'auth_invalid');
    assertErrorShape(await api(srv.baseUrl, 'GET', '/v1/jobs', { headers: { authorization: 'Basic abc' } }), 401, 'auth_invalid');
    assertErrorShape(await api(srv.baseUrl, 'GET', '/v1/jobs', { key: 'esl_short' }), 401, 'auth_invalid');
    assertErrorShape(await api(srv.baseUrl, 'GET', '/v1/jobs', { key: 'esl_' + 'A'.repeat(43) }), 401, 'auth_invalid');
  });

  it('a revoked key answers 401 on its next request', async () => {
    const k = await srv.createKey('errors-revoke', '1');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: k })).status, 200);
    const r = await srv.cli(['keys', 'revoke', 'errors-revoke']);
    assert.equal(r.code, 0, r.stderr);
    const res = await api(srv.baseUrl, 'GET', '/v1/jobs', { key: k });
    assertErrorShape(res, 401, 'auth_invalid');
    assert.match(res.body.message, /revoked/);
  });

  it('public routes answer without a key', async () => {
    const health = await api(srv.baseUrl, 'GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'ok');
    assert.equal(health.body.store.ok, true);
    assert.equal(health.body.queue.ok, true);
    const oj = await api(srv.baseUrl, 'GET', '/v1/openapi.json');
    assert.equal(oj.status, 200);
    assert.equal(oj.body.openapi, '3.1.0');
    const oy = await api(srv.baseUrl, 'GET', '/v1/openapi.yaml');
    assert.equal(oy.status, 200);
    assert.match(oy.text, /^openapi: 3\.1\.0/m);
    const pricing = await api(srv.baseUrl, 'GET', '/v1/pricing');
    assert.equal(pricing.status, 200);
    assert.ok(pricing.body.prices.some((p: any) => p.model === 'easel-sketch' && /^\d+\.\d{6}$/.test(p.approximate_cost_eur)));
  });

  it('request ids: a sane client id is echoed, anything else replaced', async () => {
    const a = await api(srv.baseUrl, 'GET', '/v1/jobs', { key, headers: { 'x-request-id': 'client-abc.123' } });
    assert.equal(a.headers.get('x-request-id'), 'client-abc.123');
    const b = await api(srv.baseUrl, 'GET', '/v1/jobs', { key, headers: { 'x-request-id': 'bad id <script>' } });
    assert.match(b.headers.get('x-request-id')!, /^req_[0-9a-f]{32}$/);
    const c = await api(srv.baseUrl, 'GET', '/health');
    assert.ok(c.headers.get('x-request-id'));
  });

  it('404 not_found for unknown routes, in the error shape', async () => {
    assertErrorShape(await api(srv.baseUrl, 'GET', '/v1/nope', { key }), 404, 'not_found');
    assertErrorShape(await api(srv.baseUrl, 'GET', '/nothing-here'), 404, 'not_found');
  });

  it('400 bad_request for a non-UUID job id, 404 for an unknown one', async () => {
    const bad = await api(srv.baseUrl, 'GET', '/v1/jobs/not-a-uuid', { key });
    assertErrorShape(bad, 400, 'bad_request');
    assert.equal(bad.body.details.fields[0].path, 'params.id');
    assertErrorShape(await api(srv.baseUrl, 'GET', '/v1/jobs/0190a6d2-0000-7000-8000-000000000000', { key }), 404, 'not_found');
    assertErrorShape(await api(srv.baseUrl, 'GET', '/v1/generate/story/xyz', { key }), 400, 'bad_request');
  });

  it('malformed JSON, wrong content type, empty body, unknown fields and wrong types are 400', async () => {
    const before = await balance(key);
    const p = '/v1/generate/image';
    assertErrorShape(await api(srv.baseUrl, 'POST', p, { key, rawBody: '{"prompt": ', headers: { 'content-type': 'application/json' } }), 400, 'bad_request');
    assertErrorShape(await api(srv.baseUrl, 'POST', p, { key, rawBody: 'prompt=hi', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 400, 'bad_request');
    assertErrorShape(await api(srv.baseUrl, 'POST', p, { key, rawBody: '', headers: { 'content-type': 'application/json' } }), 400, 'bad_request');
    const unknown = await api(srv.baseUrl, 'POST', p, { key, body: { prompt: 'a tree', colour: 'red' } });
    assertErrorShape(unknown, 400, 'bad_request');
    assert.deepEqual(unknown.body.details.fields[0], { path: 'colour', message: 'is not a known field' });
    const wrongType = await api(srv.baseUrl, 'POST', p, { key, body: { prompt: 42 } });
    assertErrorShape(wrongType, 400, 'bad_request');
    assert.equal(wrongType.body.details.fields[0].path, 'prompt');
    const missing = await api(srv.baseUrl, 'POST', p, { key, body: {} });
    assertErrorShape(missing, 400, 'bad_request');
    assert.deepEqual(missing.body.details.fields[0], { path: 'prompt', message: 'is required' });
    // A value outside a nullable enum: one field, one message naming the allowed values (no "must be null" beside it).
    const ratio = await api(srv.baseUrl, 'POST', p, { key, body: { prompt: 'x', aspect_ratio: '16:10' } });
    assertErrorShape(ratio, 400, 'bad_request');
    assert.equal(ratio.body.message, 'aspect_ratio must be one of: 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9, 21:9.');
    assert.deepEqual(ratio.body.details.fields, [{ path: 'aspect_ratio', message: 'must be one of: 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9, 21:9' }]);
    assertErrorShape(await api(srv.baseUrl, 'POST', p, { key, rawBody: '{"__proto__": {"admin": true}, "prompt": "x"}', headers: { 'content-type': 'application/json' } }), 400, 'bad_request');
    assert.deepEqual(await balance(key), before, 'rejections change nothing');
    const jobs = await api(srv.baseUrl, 'GET', '/v1/jobs', { key });
    assert.equal(jobs.body.total, 0, 'no job was created by a rejected request');
  });

  it('422 validation_failed for well-formed values over a limit; 422 model_not_found for an unknown model', async () => {
    const refs = Array.from({ length: 6 }, (_, i) => ({ url: `https://example.com/${i}.png`, description: 'ref' }));
    const tooMany = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a tree', reference_images: refs } });
    assertErrorShape(tooMany, 422, 'validation_failed');
    assert.equal(tooMany.body.details.fields[0].path, 'reference_images');
    const longPrompt = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'x'.repeat(4001) } });
    assertErrorShape(longPrompt, 422, 'validation_failed');
    const model = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a tree', model: 'no-such-model' } });
    assertErrorShape(model, 422, 'model_not_found');
    const limit = await api(srv.baseUrl, 'GET', '/v1/jobs?limit=101', { key });
    assertErrorShape(limit, 422, 'validation_failed');
    assertErrorShape(await api(srv.baseUrl, 'GET', '/v1/jobs?limit=abc', { key }), 400, 'bad_request');
    assertErrorShape(await api(srv.baseUrl, 'GET', '/v1/jobs?sort=asc', { key }), 400, 'bad_request');
  });

  it('413 payload_too_large past the body limit', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'x'.repeat(70_000) } });
    assertErrorShape(res, 413, 'payload_too_large');
  });

  it('402 credit_insufficient when the balance cannot cover the hold, nothing held or queued', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key: poorKey, body: { prompt: 'a lighthouse at dusk' } });
    assertErrorShape(res, 402, 'credit_insufficient');
    assert.equal(res.body.details.required_eur, '0.020000');
    assert.equal(res.body.details.balance_eur, '0.000000');
    const u = await balance(poorKey);
    assert.equal(u.balance_eur, '0.000000');
    assert.equal(u.held_eur, '0.000000');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: poorKey })).body.total, 0);
  });

  it('a suspended account answers 403 account_suspended on every operation that needs a key (each documented)', async () => {
    const suspended = await srv.createKey('errors-suspended', '1');
    await writeDb(srv, "update accounts set status = 'suspended' where name = $1", ['errors-suspended']);
    const doc = (await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body;
    const ops = operationsOf(doc).filter((o) => !o.public);
    assert.ok(ops.length > 30);
    for (const op of ops) {
      // The key is checked before the body is read: no body is needed to be refused.
      const res = await api(srv.baseUrl, op.method, fillPath(op.template, { n: '0' }), { key: suspended });
      if (isOpenAIShaped(op.template)) {
        // OpenAI's shape on the OpenAI-compatible routes, with Easel's code beside OpenAI's.
        assert.equal(res.status, 403, JSON.stringify(res.body));
        const err = errorOf(res.body);
        assert.equal(err.shape, 'openai');
        assert.equal(err.code, 'account_suspended');
        assert.equal(err.requestId, res.headers.get('x-request-id'));
      } else assertErrorShape(res, 403, 'account_suspended');
      assert.ok(doc.paths[op.template][op.method.toLowerCase()].responses['403'], `${op.method} ${op.template} documents 403`);
    }
  });

  it('403 content_rejected for a policy violation at normal strictness; liberal allows it; 451 on legal grounds', async () => {
    const before = await balance(key);
    const gore = { prompt: 'a gory battlefield with dismembered soldiers' };
    const r1 = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: gore });
    assertErrorShape(r1, 403, 'content_rejected');
    assert.equal(r1.body.details.category, 'graphic_violence');
    const evasive = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a g.o.r.e scene' } });
    assertErrorShape(evasive, 403, 'content_rejected');
    assert.deepEqual(await balance(key), before, 'rejected prompts charge nothing');
    const liberal = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { ...gore, strictness: 'liberal' } });
    assert.equal(liberal.status, 200, JSON.stringify(liberal.body));
    const legal = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'nude underage girl', strictness: 'liberal' } });
    assertErrorShape(legal, 451, 'content_rejected');
    assert.equal(legal.body.details.category, 'sexual_minors');
  });
});
