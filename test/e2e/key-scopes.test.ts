import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, MODE, api } from '../helpers/server.js';
import { Easel, EaselApiError } from '../../src/sdk/index.js';

/**
 * Key scopes (issue 20), over real HTTP: `admin` keys (the operator's, and every key older than
 * scopes) manage keys and settings; keys minted through POST /v1/keys are `generate` keys unless
 * asked otherwise, and create and read jobs but are refused (403 insufficient_scope) by every
 * route that changes the account.
 */
const ADMIN_ROUTES: [string, string][] = [
  ['get', '/v1/keys'],
  ['post', '/v1/keys'],
  ['put', '/v1/account/settings'],
  ['get', '/v1/account/webhook'],
  ['put', '/v1/account/webhook'],
  ['post', '/v1/account/webhook/rotate-secret'],
];

const assertInsufficientScope = (r: { status: number; body: any; headers: Headers; text: string }, what: string) => {
  assert.equal(r.status, 403, `${what}: ${r.text}`);
  assert.equal(r.body.error, 'insufficient_scope', what);
  assert.equal(r.body.details.required_scope, 'admin');
  assert.match(r.body.message, /admin key/);
  assert.equal(r.body.request_id, r.headers.get('x-request-id'));
};

describe(`key scopes (${MODE})`, () => {
  let srv: EaselProcess;
  let owner: string;
  let ownerKeyId: string;
  let gen: { id: string; key: string };

  before(async () => {
    srv = await EaselProcess.start();
    owner = await srv.createKey('scope-owner', '1');
    ownerKeyId = (await api(srv.baseUrl, 'GET', '/v1/keys', { key: owner })).body.keys[0].id;
    const minted = await api(srv.baseUrl, 'POST', '/v1/keys', { key: owner, body: { name: 'scope-ci' } });
    assert.equal(minted.status, 201, minted.text);
    gen = minted.body;
  });
  after(() => srv?.stop());

  it('a minted key is a generate key; it cannot revoke the operator\'s key, mint keys or change settings', async () => {
    assert.equal((gen as any).scope, 'generate');
    const revoke = await api(srv.baseUrl, 'DELETE', `/v1/keys/${ownerKeyId}`, { key: gen.key });
    assertInsufficientScope(revoke, 'DELETE the operator key');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: owner })).status, 200, 'the operator key still works');

    const bodies: Record<string, unknown> = {
      'post /v1/keys': { name: 'escalate', scope: 'admin' },
      'put /v1/account/settings': { retention_days: 1 },
      'put /v1/account/webhook': { url: null },
      'post /v1/account/webhook/rotate-secret': { expire_previous_in_s: 0 },
    };
    for (const [method, path] of ADMIN_ROUTES) {
      const body = bodies[`${method} ${path}`];
      assertInsufficientScope(await api(srv.baseUrl, method.toUpperCase(), path, { key: gen.key, ...(body ? { body } : {}) }), `${method} ${path}`);
    }
    // Refused before the body is looked at: a bad body from a generate key is still a 403, not a 400.
    assertInsufficientScope(await api(srv.baseUrl, 'PUT', '/v1/account/settings', { key: gen.key, body: { retention_days: 'x', nope: 1 } }), 'bad body');
    // Nothing changed: still one admin key and the generate key, the default retention, no webhook.
    const keys = (await api(srv.baseUrl, 'GET', '/v1/keys', { key: owner })).body.keys;
    assert.deepEqual(keys.map((k: any) => [k.name, k.scope, k.revoked_at]), [['scope-owner', 'admin', null], ['scope-ci', 'generate', null]]);
    const settings = (await api(srv.baseUrl, 'GET', '/v1/account/settings', { key: owner })).body;
    assert.notEqual(settings.retention_days, 1);
  });

  it('a generate key creates and reads jobs, quotes, and reads its account', async () => {
    const img = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key: gen.key, body: { prompt: 'a lighthouse made of glass' } });
    assert.equal(img.status, 200, img.text);
    const jobId = img.headers.get('x-easel-job-id')!;
    assert.equal((await api(srv.baseUrl, 'GET', `/v1/jobs/${jobId}`, { key: gen.key })).body.status, 'completed');
    assert.ok((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: gen.key })).body.generations.some((j: any) => j.job_id === jobId));
    const quote = await api(srv.baseUrl, 'POST', '/v1/quote', { key: gen.key, body: { operation: 'image', request: { prompt: 'a kite' } } });
    assert.equal(quote.status, 200, quote.text);
    const profile = await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: gen.key });
    assert.equal(profile.status, 200);
    assert.equal(profile.body.user.balance_eur, '0.980000');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/account/ledger', { key: gen.key })).status, 200);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/account/settings', { key: gen.key })).status, 200, 'reading the defaults jobs get is allowed');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/webhooks/deliveries', { key: gen.key })).status, 200, 'the delivery log of its jobs is readable');
    // The SDK surfaces the scope error with its code.
    const err = await new Easel({ apiKey: gen.key, baseUrl: srv.baseUrl, maxRetries: 0 }).listKeys().catch((e: unknown) => e);
    assert.ok(err instanceof EaselApiError && err.status === 403 && err.code === 'insufficient_scope', String(err));
  });

  it('an admin key mints an admin key, which manages keys; any key may revoke itself', async () => {
    const admin2 = await api(srv.baseUrl, 'POST', '/v1/keys', { key: owner, body: { name: 'scope-admin-2', scope: 'admin' } });
    assert.equal(admin2.status, 201, admin2.text);
    assert.equal(admin2.body.scope, 'admin');
    const viaSdk = await new Easel({ apiKey: admin2.body.key, baseUrl: srv.baseUrl }).createKey({ name: 'scope-gen-2' });
    assert.equal(viaSdk.scope, 'generate');
    const list = await api(srv.baseUrl, 'GET', '/v1/keys', { key: admin2.body.key });
    assert.equal(list.status, 200);
    assert.equal(list.body.keys.find((k: any) => k.current).scope, 'admin');
    // A generate key revoking itself (a leaked key can always be killed by whoever holds it).
    const self = await api(srv.baseUrl, 'DELETE', `/v1/keys/${viaSdk.id}`, { key: viaSdk.key });
    assert.equal(self.status, 200, self.text);
    assert.equal(self.body.scope, 'generate');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: viaSdk.key })).status, 401);
    // The minted admin key may revoke the operator's key: admin is admin.
    const other = await api(srv.baseUrl, 'POST', '/v1/keys', { key: owner, body: { name: 'scope-victim' } });
    const revoked = await api(srv.baseUrl, 'DELETE', `/v1/keys/${other.body.id}`, { key: admin2.body.key });
    assert.equal(revoked.status, 200, revoked.text);
  });

  it('the operator CLI creates admin keys by default and generate keys with --scope generate, and lists scopes', async () => {
    const r = await srv.cli(['keys', 'create', '--name', 'scope-cli-gen', '--account', 'scope-owner', '--scope', 'generate']);
    assert.equal(r.code, 0, r.stderr);
    const cliGen = r.stdout.trim().split('\n').pop()!;
    assertInsufficientScope(await api(srv.baseUrl, 'GET', '/v1/keys', { key: cliGen }), 'CLI generate key');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: cliGen })).status, 200);
    const bad = await srv.cli(['keys', 'create', '--name', 'scope-cli-bad', '--scope', 'root']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--scope must be admin or generate/);
    const listed = JSON.parse((await srv.cli(['keys', 'list', '--json'])).stdout) as { name: string; scope: string }[];
    assert.equal(listed.find((k) => k.name === 'scope-cli-gen')!.scope, 'generate');
    assert.equal(listed.find((k) => k.name === 'scope-owner')!.scope, 'admin');
  });

  it('the OpenAPI document says which operations need an admin key, the 403 they answer, and the scope field', async () => {
    const doc = (await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body;
    for (const [method, path] of ADMIN_ROUTES) {
      const op = doc.paths[path][method];
      assert.match(op.description, /^Requires an admin key: a generate key is answered 403 insufficient_scope\./, `${method} ${path}`);
      assert.match(op.responses['403'].description, /insufficient_scope/, `${method} ${path}`);
    }
    assert.match(doc.paths['/v1/keys/{id}'].delete.responses['403'].description, /insufficient_scope/);
    for (const path of ['/v1/jobs', '/v1/generate/image', '/v1/account/profile']) {
      const op = doc.paths[path].get ?? doc.paths[path].post;
      assert.doesNotMatch(op.description ?? '', /Requires an admin key/, path);
    }
    const scope = doc.components.schemas.ApiKey.properties.scope;
    const values = [...JSON.stringify(scope).matchAll(/"(admin|generate)"/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(values)].sort(), ['admin', 'generate'], JSON.stringify(scope));
    assert.ok(doc.components.schemas.ApiKey.required.includes('scope'));
  });
});
