import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, api } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';

describe('POST /v1/quote', () => {
  let srv: EaselProcess;

  before(async () => {
    srv = await EaselProcess.start();
  });
  after(() => srv.stop());

  it('prices an image and a story without creating a job, holding or charging anything', async () => {
    const key = await srv.createKey('quote-main', '0.05');
    const img = await api(srv.baseUrl, 'POST', '/v1/quote', { key, body: { operation: 'image', request: { prompt: 'a red bicycle' } } });
    assert.equal(img.status, 200, img.text);
    assert.deepEqual(img.body, { operation: 'image', model: 'easel-sketch', price_eur: '0.020000', balance_eur: '0.050000', affordable: true, scenes_total: 1 });

    // 2 characters, 3 scenes: 2 portraits + 3 scenes = 5 images at EUR 0.02 — more than the balance.
    const story = {
      characters: [
        { name: 'Ada', appearance: 'a tall engineer in a green coat' },
        { name: 'Ben', appearance: 'a small boy with a red cap' },
      ],
      scenes: [{ prompt: 'Ada at work', characters: ['Ada'] }, { prompt: 'Ben at play', characters: ['Ben'] }, { prompt: 'Both at dinner', characters: ['Ada', 'Ben'] }],
    };
    const st = await api(srv.baseUrl, 'POST', '/v1/quote', { key, body: { operation: 'story', request: story } });
    assert.equal(st.status, 200, st.text);
    assert.equal(st.body.price_eur, '0.100000');
    assert.equal(st.body.affordable, false);
    assert.equal(st.body.scenes_total, 3);
    // …and the create indeed refuses it with 402, as the quote said.
    assert.equal((await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: story })).status, 402);

    const free = await api(srv.baseUrl, 'POST', '/v1/quote', { key, body: { operation: 'process_flip', request: { input_image_url: 'https://example.com/a.png', direction: 'horizontal' } } });
    assert.equal(free.status, 200, free.text);
    assert.equal(free.body.price_eur, '0.000000');
    assert.equal(free.body.affordable, true);

    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.total, 0);
    const audit = await auditLedger(srv, 'quote-main');
    assert.equal(audit.available, 50_000);
    assert.equal(audit.held, 0);
    assert.equal(audit.captures, 0);
    const ledger = (await api(srv.baseUrl, 'GET', '/v1/account/ledger', { key })).body;
    assert.equal(ledger.total, 1, 'only the grant');
  });

  it("refuses what the create would refuse, with the create's error: validation, moderation, capability", async () => {
    const key = await srv.createKey('quote-refusals', '1');
    const invalid = await api(srv.baseUrl, 'POST', '/v1/quote', { key, body: { operation: 'image', request: { prompt: '' } } });
    const direct = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: '' } });
    assert.equal(invalid.status, direct.status, invalid.text);
    assert.equal(invalid.body.error, direct.body.error);
    assert.deepEqual(invalid.body.details, direct.body.details);
    assert.equal(invalid.body.details.fields[0].path, 'prompt');
    assert.equal(invalid.body.request_id, invalid.headers.get('x-request-id'));

    const gore = await api(srv.baseUrl, 'POST', '/v1/quote', { key, body: { operation: 'image', request: { prompt: 'a gory battlefield' } } });
    assert.equal(gore.status, 403, gore.text);
    assert.equal(gore.body.error, 'content_rejected');

    const incapable = await api(srv.baseUrl, 'POST', '/v1/quote', { key, body: { operation: 'edit_image', request: { image_url: 'https://example.com/a.png', prompt: 'x', model: 'easel-sketch-fast' } } });
    assert.equal(incapable.status, 422, incapable.text);
    assert.equal(incapable.body.error, 'model_not_capable');

    const unknownModel = await api(srv.baseUrl, 'POST', '/v1/quote', { key, body: { operation: 'image', request: { prompt: 'a cat', model: 'no-such-model' } } });
    assert.equal(unknownModel.status, 422);
    assert.equal(unknownModel.body.error, 'model_not_found');

    const unknownOp = await api(srv.baseUrl, 'POST', '/v1/quote', { key, body: { operation: 'teleport', request: {} } });
    assert.equal(unknownOp.status, 400);

    assert.equal((await api(srv.baseUrl, 'POST', '/v1/quote', { body: { operation: 'image', request: { prompt: 'x' } } })).status, 401);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.total, 0);
    assert.equal((await auditLedger(srv, 'quote-refusals')).held, 0);
  });
});
