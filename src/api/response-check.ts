import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * Tests only (EASEL_VALIDATE_RESPONSES=1, set by test/helpers/server.ts): every response this
 * server gives is checked against the OpenAPI document it serves — the operation for its route,
 * the response for its status, the body schema for its content type, the headers the document
 * marks required. A response the document does not describe is a violation: it is logged and
 * appended to `<data dir>/response-violations.jsonl`, which the test helper reads when it stops
 * the server and fails on. `<data dir>/response-checks.jsonl` gets one line per process at close
 * ({pid, checked, skipped, violations}) so a test can see the check ran.
 *
 * Not checked, on purpose: routes hidden from the document (the document itself, /metrics, signed
 * file downloads, the dashboard's static files), the body of streams (an SSE stream, a file), and
 * answers written to the socket before fastify (a 408 for a slow request) — which never pass here.
 * Answers to paths the document does not list (404, or a URL the router refuses) must still be the
 * Error shape with a request id.
 */

const addFormats = (addFormatsModule as unknown as { default?: (a: Ajv) => void }).default ?? (addFormatsModule as unknown as (a: Ajv) => void);
const DOC_ID = 'openapi.json';

type Json = Record<string, any>;

interface Violation {
  method: string;
  route: string | null;
  url: string;
  status: number;
  problem: string;
  request_id: string;
  body?: string;
}

/** `/reference_images/2` → the JSON-pointer segment, made safe inside a URI fragment. */
const segment = (s: string) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'));
const baseType = (ct: unknown) => String(ct ?? '').split(';')[0]!.trim().toLowerCase();

export class ResponseChecker {
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly doc: Json) {
    this.ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addFormat('binary', true);
    this.ajv.addSchema(doc, DOC_ID);
  }

  /** The validator of a schema inside the document, by its JSON pointer (compiled once). */
  private validator(pointer: string[]): ValidateFunction {
    const key = pointer.join('\u0000');
    let v = this.validators.get(key);
    if (!v) {
      v = this.ajv.compile({ $ref: `${DOC_ID}#/${pointer.map(segment).join('/')}` });
      this.validators.set(key, v);
    }
    return v;
  }

  private errorsOf(v: ValidateFunction): string {
    return this.ajv.errorsText(v.errors, { separator: '; ' });
  }

  /**
   * What is wrong with one response, or null. `route` is the fastify route (`/v1/jobs/:id`), null
   * when no route matched; `headers` are the reply's (lower-case names); `body` the payload text
   * (undefined for a stream).
   */
  check(method: string, route: string | null, status: number, headers: Record<string, unknown>, body: string | undefined): string | null {
    const has = (name: string) => headers[name.toLowerCase()] !== undefined;
    if (route === null) {
      // No operation describes an unknown path; it still answers in the one error shape.
      if (!has('x-request-id')) return 'no X-Request-Id header';
      if (status < 400) return `a ${status} for a path the document does not list`;
      return this.checkBody(['components', 'schemas', 'Error'], body);
    }
    const template = route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const m = method === 'HEAD' ? 'get' : method.toLowerCase();
    const op = this.doc.paths?.[template]?.[m] as Json | undefined;
    if (!op) return `${method} ${template} is not in the document`;
    const code = String(status);
    const key = op.responses?.[code] ? code : op.responses?.[`${code[0]}XX`] ? `${code[0]}XX` : op.responses?.default ? 'default' : null;
    if (!key) return `status ${status} is not documented for ${method} ${template} (documented: ${Object.keys(op.responses ?? {}).join(', ')})`;
    const response = op.responses[key] as Json;
    for (const [name, h] of Object.entries<Json>(response.headers ?? {})) {
      if (h.required === true && !has(name)) return `required header ${name} missing`;
      if (has(name) && h.schema) {
        const v = this.validator(['paths', template, m, 'responses', key, 'headers', name, 'schema']);
        if (!v(String(headers[name.toLowerCase()]))) return `header ${name}: ${this.errorsOf(v)}`;
      }
    }
    const content = (response.content ?? {}) as Json;
    const type = baseType(headers['content-type']);
    if (Object.keys(content).length === 0) {
      return body && body.length > 0 ? `a body (${type || 'no content type'}) where the document describes none` : null;
    }
    if (method === 'HEAD') return null;
    const media = content[type] ? type : content['*/*'] ? '*/*' : null;
    if (!media) return `content type "${type}" is not documented (documented: ${Object.keys(content).join(', ')})`;
    if (!type.includes('json') || !content[media].schema) return null;
    const pointer = ['paths', template, m, 'responses', key, 'content', media, 'schema'];
    // JSON lines: the documented schema is each line's (as OpenAPI 3.2's itemSchema of a sequential media type).
    if (type === 'application/x-ndjson') return this.checkLines(pointer, body);
    return this.checkBody(pointer, body);
  }

  private checkLines(pointer: string[], body: string | undefined): string | null {
    const lines = (body ?? '').split('\n').filter((l) => l.length > 0);
    for (let i = 0; i < lines.length; i++) {
      const problem = this.checkBody(pointer, lines[i]);
      if (problem) return `line ${i + 1}: ${problem}`;
    }
    return null;
  }

  private checkBody(pointer: string[], body: string | undefined): string | null {
    if (body === undefined) return null;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return 'the body is not JSON';
    }
    const v = this.validator(pointer);
    return v(value) ? null : `body: ${this.errorsOf(v)}`;
  }
}

function payloadText(payload: unknown): string | undefined {
  if (payload === null || payload === undefined) return '';
  if (typeof payload === 'string') return payload;
  if (Buffer.isBuffer(payload)) return payload.toString('utf8');
  return undefined; // a stream: not buffered here
}

export function installResponseCheck(app: FastifyInstance, dataDir: string): void {
  const violationsFile = path.join(dataDir, 'response-violations.jsonl');
  const tally = { checked: 0, skipped: 0, violations: 0 };
  let checker: ResponseChecker | null = null;

  const record = (req: FastifyRequest, reply: FastifyReply, problem: string, body: string | undefined) => {
    tally.violations++;
    const v: Violation = {
      method: req.method,
      route: req.routeOptions.url ?? null,
      url: req.url.split('?')[0]!,
      status: reply.statusCode,
      problem,
      request_id: String(req.id),
      ...(body !== undefined ? { body: body.slice(0, 600) } : {}),
    };
    req.log.error({ violation: v }, 'response does not match the OpenAPI document');
    fs.appendFileSync(violationsFile, `${JSON.stringify(v)}\n`);
  };

  app.addHook('onSend', (req, reply, payload, done) => {
    const body = payloadText(payload);
    try {
      if (req.routeOptions.schema?.hide === true) {
        tally.skipped++;
      } else {
        checker ??= new ResponseChecker(app.swagger() as unknown as Json);
        tally.checked++;
        const problem = checker.check(req.method, req.routeOptions.url ?? null, reply.statusCode, reply.getHeaders(), body);
        if (problem) record(req, reply, problem, body);
      }
    } catch (e) {
      record(req, reply, `the check itself failed: ${(e as Error).message}`, body);
    }
    done(null, payload);
  });

  app.addHook('onClose', (_app, done) => {
    fs.appendFileSync(path.join(dataDir, 'response-checks.jsonl'), `${JSON.stringify({ pid: process.pid, ...tally })}\n`);
    done();
  });
}
