import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseChecker } from '../../src/api/response-check.js';
import { completeDocument } from '../../src/api/openapi-document.js';

/** A two-operation document as fastify-swagger renders one, before completeDocument adds the server-wide answers. */
function doc() {
  return completeDocument({
    openapi: '3.1.0',
    security: [{ bearer: [] }],
    paths: {
      '/v1/things/{id}': {
        get: {
          parameters: [{ in: 'path', name: 'id', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: {
            '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
            '404': { description: 'no', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
          },
        },
      },
      '/health': { get: { security: [], responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } } } } },
      '/v1/things': {
        post: {
          requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { name: { type: 'string', maxLength: 10 } } } } } },
          responses: { '201': { description: 'made', content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } } },
        },
      },
    },
    components: {
      schemas: {
        Error: { type: 'object', required: ['error', 'message', 'request_id'], properties: { error: { type: 'string' }, message: { type: 'string' }, request_id: { type: 'string' } } },
        Thing: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } }, additionalProperties: false },
      },
    },
  });
}

const ID = '01890000-0000-7000-8000-000000000000';
const json = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'req_1' };
const error = (code: string) => JSON.stringify({ error: code, message: 'm', request_id: 'req_1' });

describe('completeDocument', () => {
  it('adds what the server answers around every route: 401/403/429 with a key, 400/422 with inputs, 408/413 with a body, 500/503 always', () => {
    const d = doc();
    assert.deepEqual(Object.keys(d.paths['/v1/things/{id}'].get.responses), ['200', '400', '401', '403', '404', '429', '500', '503']);
    assert.deepEqual(Object.keys(d.paths['/health'].get.responses), ['200', '500', '503'], 'a public route without inputs');
    assert.deepEqual(Object.keys(d.paths['/v1/things'].post.responses), ['201', '400', '401', '403', '408', '413', '422', '429', '500', '503']);
  });

  it('documents X-Request-Id on every response and Retry-After on every 429', () => {
    const d = doc();
    for (const item of Object.values<any>(d.paths)) {
      for (const op of Object.values<any>(item)) {
        for (const [status, r] of Object.entries<any>(op.responses)) {
          assert.equal(r.headers['X-Request-Id'].required, true, status);
          if (status === '429') assert.equal(r.headers['Retry-After'].required, true);
        }
      }
    }
  });
});

describe('ResponseChecker', () => {
  const c = new ResponseChecker(doc());

  it('accepts a response the document describes', () => {
    assert.equal(c.check('GET', '/v1/things/:id', 200, json, JSON.stringify({ id: ID })), null);
    assert.equal(c.check('HEAD', '/v1/things/:id', 200, json, ''), null);
    assert.equal(c.check('GET', '/v1/things/:id', 429, { ...json, 'retry-after': '3' }, error('rate_limited')), null);
    assert.equal(c.check('GET', null, 404, json, error('not_found')), null, 'an unknown path answers in the error shape');
  });

  it('names what the document does not describe', () => {
    assert.match(c.check('GET', '/v1/things/:id', 418, json, '{}')!, /status 418 is not documented/);
    assert.match(c.check('GET', '/v1/things/:id', 200, json, JSON.stringify({ id: ID, extra: 1 }))!, /body: .*additional properties/);
    assert.match(c.check('GET', '/v1/things/:id', 200, { 'content-type': 'application/json' }, JSON.stringify({ id: ID }))!, /X-Request-Id missing/);
    assert.match(c.check('GET', '/v1/things/:id', 429, json, error('rate_limited'))!, /Retry-After missing/);
    assert.match(c.check('GET', '/v1/things/:id', 429, { ...json, 'retry-after': 'soon' }, error('rate_limited'))!, /header Retry-After/);
    assert.match(c.check('GET', '/v1/things/:id', 200, { ...json, 'content-type': 'text/html' }, '<p>')!, /content type "text\/html" is not documented/);
    assert.match(c.check('DELETE', '/v1/things/:id', 200, json, '{}')!, /DELETE \/v1\/things\/\{id\} is not in the document/);
    assert.match(c.check('GET', '/v1/things/:id', 200, json, 'not json')!, /not JSON/);
    assert.match(c.check('GET', null, 404, json, '{"statusCode":404}')!, /body:/, 'an unknown path still answers in the error shape');
    assert.match(c.check('GET', null, 200, json, '{}')!, /for a path the document does not list/);
  });
});
