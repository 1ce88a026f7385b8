import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, MODE, api } from '../helpers/server.js';
import { Easel, EaselApiError } from '../../src/sdk/index.js';

/**
 * The account-scoped key API (issue 9), over real HTTP: GET/POST /v1/keys, DELETE /v1/keys/{id}.
 * The secret is shown once, never listed; a revoked key is refused from its next request; another
 * account's key is answered as a missing one (404); bad input is the one error shape.
 */
const KEY_FIELDS = ['created_at', 'current', 'id', 'last_used_at', 'name', 'prefix', 'revoked_at', 'scope'];

describe(`API keys: /v1/keys (${MODE})`, () => {
  let srv: EaselProcess;
  let alice: string;
  let bob: string;

  before(async () => {
    srv = await EaselProcess.start();
    alice = await srv.createKey('keys-alice', '1');
    bob = await srv.createKey('keys-bob', '1');
  });
  after(() => srv?.stop());

  it('lists the caller\'s keys without any secret or hash, marking the one in use', async () => {
    const res = await api(srv.baseUrl, 'GET', '/v1/keys', { key: alice });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.body.keys.length, 1);
    const k = res.body.keys[0];
    assert.deepEqual(Object.keys(k).sort(), KEY_FIELDS);
    assert.equal(k.name, 'keys-alice');
    assert.equal(k.current, true);
    assert.equal(k.scope, 'admin', 'a key from `easel keys create` is an admin key');
    assert.equal(k.revoked_at, null);
    assert.ok(alice.startsWith(k.prefix) && k.prefix.length === 10);
    assert.ok(!res.text.includes(alice), 'the secret is never listed');
    assert.ok(!/[0-9a-f]{64}/.test(res.text), 'no hash is listed');
    // The request itself counts as a use (written off the request path).
    const again = await api(srv.baseUrl, 'GET', '/v1/keys', { key: alice });
    assert.ok(again.body.keys[0].last_used_at === null || !Number.isNaN(Date.parse(again.body.keys[0].last_used_at)));
  });

  it('creates a key, shows the secret once, and the new key works for the same account', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/keys', { key: alice, body: { name: 'alice-ci', scope: 'admin' } });
    assert.equal(res.status, 201, res.text);
    assert.match(res.body.key, /^esl_[A-Za-z0-9]{43}$/);
    assert.equal(res.body.name, 'alice-ci');
    assert.equal(res.body.scope, 'admin');
    assert.equal(res.body.current, false);
    assert.ok(res.body.key.startsWith(res.body.prefix));
    const profileA = await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: alice });
    const profileNew = await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: res.body.key });
    assert.equal(profileNew.status, 200);
    assert.equal(profileNew.body.user.id, profileA.body.user.id, 'same account');
    const list = await api(srv.baseUrl, 'GET', '/v1/keys', { key: res.body.key });
    assert.deepEqual(list.body.keys.map((k: any) => k.name), ['keys-alice', 'alice-ci']);
    assert.equal(list.body.keys.find((k: any) => k.name === 'alice-ci').current, true);
    assert.ok(!list.text.includes(res.body.key), 'the secret is not shown again');
    // Without a name, one is made up.
    const unnamed = await api(srv.baseUrl, 'POST', '/v1/keys', { key: alice, body: {} });
    assert.equal(unnamed.status, 201, unnamed.text);
    assert.match(unnamed.body.name, /^key-[0-9a-f]{8}$/);
    assert.equal(unnamed.body.scope, 'generate', 'a minted key is a generate key unless asked otherwise');
  });

  it('revokes a key: its next request is 401; revoking again answers it unchanged', async () => {
    const created = (await api(srv.baseUrl, 'POST', '/v1/keys', { key: alice, body: { name: 'alice-temp' } })).body;
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: created.key })).status, 200);
    const res = await api(srv.baseUrl, 'DELETE', `/v1/keys/${created.id}`, { key: alice });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, created.id);
    assert.ok(res.body.revoked_at);
    const refused = await api(srv.baseUrl, 'GET', '/v1/jobs', { key: created.key });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'auth_invalid');
    const again = await api(srv.baseUrl, 'DELETE', `/v1/keys/${created.id}`, { key: alice });
    assert.equal(again.status, 200);
    assert.equal(again.body.revoked_at, res.body.revoked_at);
  });

  it('a key may revoke itself; it is refused from then on', async () => {
    const created = (await api(srv.baseUrl, 'POST', '/v1/keys', { key: alice, body: { name: 'alice-self' } })).body;
    const res = await api(srv.baseUrl, 'DELETE', `/v1/keys/${created.id}`, { key: created.key });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.current, true);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/keys', { key: created.key })).status, 401);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/keys', { key: alice })).status, 200, 'the other keys keep working');
  });

  it('another account\'s key is 404, exactly as a missing one, and stays active', async () => {
    const aliceKeys = (await api(srv.baseUrl, 'GET', '/v1/keys', { key: alice })).body.keys;
    const target = aliceKeys.find((k: any) => k.name === 'keys-alice');
    const res = await api(srv.baseUrl, 'DELETE', `/v1/keys/${target.id}`, { key: bob });
    const missing = await api(srv.baseUrl, 'DELETE', '/v1/keys/0190a2b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b', { key: bob });
    assert.equal(res.status, 404, res.text);
    assert.equal(missing.status, 404);
    assert.equal(res.body.error, missing.body.error);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: alice })).status, 200, 'alice\'s key still works');
    const bobKeys = (await api(srv.baseUrl, 'GET', '/v1/keys', { key: bob })).body.keys;
    assert.deepEqual(bobKeys.map((k: any) => k.name), ['keys-bob'], 'bob sees only his own keys');
  });

  it('names are unique per account: another account\'s key names are free to use, and never revealed by a 409', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/keys', { key: alice, body: { name: 'keys-bob' } });
    assert.equal(res.status, 201, `bob's key name is not alice's business: ${res.text}`);
    const aliceNames = (await api(srv.baseUrl, 'GET', '/v1/keys', { key: alice })).body.keys.map((k: any) => k.name);
    assert.ok(aliceNames.includes('keys-bob'));
    const bobKeys = (await api(srv.baseUrl, 'GET', '/v1/keys', { key: bob })).body.keys;
    assert.deepEqual(bobKeys.map((k: any) => k.name), ['keys-bob'], 'bob\'s keys are unchanged');

    // The operator CLI addresses keys by name: an ambiguous name needs --account, and then revokes exactly that key.
    const ambiguous = await srv.cli(['keys', 'revoke', 'keys-bob']);
    assert.notEqual(ambiguous.code, 0);
    assert.match(ambiguous.stderr, /2 accounts have a key named "keys-bob" \(keys-alice, keys-bob\); say which with --account/);
    const grant = await srv.cli(['credits', 'grant', '--key-name', 'keys-bob', '--account', 'keys-bob', '--eur', '1']);
    assert.equal(grant.code, 0, grant.stderr);
    const revoked = await srv.cli(['keys', 'revoke', 'keys-bob', '--account', 'keys-alice']);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: bob })).status, 200, 'bob\'s key of that name still works');
    const balances = async (k: string) => (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: k })).body.user.balance_eur;
    assert.equal(await balances(bob), '2.000000', 'the grant went to bob\'s account (1 EUR at creation + 1)');
    assert.equal(await balances(alice), '1.000000', 'and not to alice\'s');
  });

  it('refuses bad input in the error shape: 400 for shapes, 409 for a name the account already has, 401 without a key', async () => {
    const cases: [unknown, number][] = [
      [{ name: '' }, 400],
      [{ name: ' leading space' }, 400],
      [{ name: 'x'.repeat(65) }, 400],
      [{ name: 'bad\u0000name' }, 400],
      [{ name: 42 }, 400],
      [{ name: 'ok', admin: true }, 400],
      [{ name: 'ok', scope: 'root' }, 400],
    ];
    for (const [body, status] of cases) {
      const res = await api(srv.baseUrl, 'POST', '/v1/keys', { key: alice, body });
      assert.ok(res.status === status || (status === 400 && res.status === 422), `${JSON.stringify(body)} → ${res.status} ${res.text}`);
      assert.equal(typeof res.body.error, 'string');
      assert.equal(typeof res.body.message, 'string');
      assert.equal(res.body.request_id, res.headers.get('x-request-id'));
    }
    const mine = await api(srv.baseUrl, 'POST', '/v1/keys', { key: alice, body: { name: 'shared-name' } });
    assert.equal(mine.status, 201, mine.text);
    const taken = await api(srv.baseUrl, 'POST', '/v1/keys', { key: alice, body: { name: 'shared-name' } });
    assert.equal(taken.status, 409, taken.text);
    assert.equal(taken.body.error, 'conflict');
    assert.equal(taken.body.details.field, 'name');
    const notJson = await api(srv.baseUrl, 'POST', '/v1/keys', { key: alice, rawBody: '{', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.status, 400);
    const badId = await api(srv.baseUrl, 'DELETE', '/v1/keys/not-a-uuid', { key: alice });
    assert.equal(badId.status, 400, badId.text);
    assert.equal(badId.body.error, 'bad_request');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/keys')).status, 401);
    assert.equal((await api(srv.baseUrl, 'POST', '/v1/keys', { body: {} })).status, 401);
  });

  it('the SDK lists, creates and revokes keys', async () => {
    const easel = new Easel({ apiKey: alice, baseUrl: srv.baseUrl });
    const created = await easel.createKey({ name: 'alice-sdk' });
    assert.match(created.key, /^esl_/);
    assert.ok((await easel.listKeys()).keys.some((k) => k.id === created.id));
    assert.ok((await easel.revokeKey(created.id)).revoked_at);
    const err = await new Easel({ apiKey: created.key, baseUrl: srv.baseUrl, maxRetries: 0 }).profile().catch((e: unknown) => e);
    assert.ok(err instanceof EaselApiError && err.status === 401);
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body;
    assert.ok(doc.paths['/v1/keys'].get);
    assert.ok(doc.paths['/v1/keys'].post);
    assert.ok(doc.paths['/v1/keys/{id}'].delete);
    assert.ok(doc.paths['/v1/keys'].post.responses['201']);
  });
});
