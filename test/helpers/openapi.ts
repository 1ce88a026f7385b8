import crypto from 'node:crypto';
import fc from 'fast-check';

/**
 * Routes as the served OpenAPI document lists them, so the fuzz and access-control tests cover
 * every endpoint — including ones added after these tests were written — without a route list.
 */
export interface Param {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: any;
}

export interface Operation {
  method: string;
  /** OpenAPI template, e.g. /v1/jobs/{id}. */
  template: string;
  params: Param[];
  pathParams: Param[];
  queryParams: Param[];
  /** Content types the request body is declared with (empty: no body). */
  bodyTypes: string[];
  /** The JSON body schema, $refs resolved, when the body is JSON. */
  bodySchema: any | null;
  /** security: [] on the operation — answers without a key. */
  public: boolean;
  summary: string;
}

export function resolveRefs(schema: any, doc: any, depth = 0): any {
  if (depth > 30 || schema == null || typeof schema !== 'object') return schema;
  if (Array.isArray(schema)) return schema.map((s) => resolveRefs(s, doc, depth + 1));
  if (typeof schema.$ref === 'string') {
    const ref: string = schema.$ref;
    const name = ref.startsWith('#/components/schemas/') ? ref.slice('#/components/schemas/'.length) : ref;
    const target = doc.components?.schemas?.[name];
    return target ? resolveRefs(target, doc, depth + 1) : {};
  }
  const out: any = {};
  for (const [k, v] of Object.entries(schema)) out[k] = resolveRefs(v, doc, depth + 1);
  return out;
}

export function operationsOf(doc: any): Operation[] {
  const ops: Operation[] = [];
  for (const [template, item] of Object.entries<any>(doc.paths ?? {})) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const op = item[method];
      if (!op) continue;
      const params: Param[] = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: any) => resolveRefs(p, doc));
      const content = op.requestBody?.content ?? {};
      const bodyTypes = Object.keys(content);
      const json = bodyTypes.find((t) => t.includes('json'));
      const security = op.security ?? doc.security ?? [];
      ops.push({
        method: method.toUpperCase(),
        template,
        params,
        pathParams: params.filter((p) => p.in === 'path'),
        queryParams: params.filter((p) => p.in === 'query'),
        bodyTypes,
        bodySchema: json ? resolveRefs(content[json].schema, doc) : null,
        public: Array.isArray(security) && security.length === 0,
        summary: op.summary ?? '',
      });
    }
  }
  return ops;
}

export function fillPath(template: string, values: Record<string, string>, encode = true): string {
  return template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = values[name] ?? crypto.randomUUID();
    return encode ? encodeURIComponent(v) : v;
  });
}

/**
 * A small valid instance of a JSON schema (required properties only, the first branch of a
 * union, minimum sizes). Enough for a base body that fuzz mutations then break one field of.
 */
export interface SampleOptions {
  /** Used for every `format: uri` string (e.g. a signed URL of an image the caller owns). */
  uri?: string;
  /** Also include optional properties whose schema holds a URL (arrays get one item, or their minimum). */
  includeUriFields?: boolean;
}

/** Whether a schema (or anything nested in it) describes a URL string. */
export function containsUri(schema: any, depth = 0): boolean {
  if (!schema || typeof schema !== 'object' || depth > 12) return false;
  if (schema.format === 'uri' || schema.format === 'url') return true;
  return Object.values(schema).some((v) => (Array.isArray(v) ? v.some((x) => containsUri(x, depth + 1)) : typeof v === 'object' && containsUri(v, depth + 1)));
}

export function sampleOf(schema: any, depth = 0, opts: SampleOptions = {}): unknown {
  if (!schema || typeof schema !== 'object' || depth > 12) return null;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if ('default' in schema && schema.default !== undefined) return schema.default;
  const branch = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(branch)) {
    const nonNull = (opts.includeUriFields ? branch.find((b: any) => containsUri(b)) : undefined) ?? branch.find((b: any) => b.type !== 'null') ?? branch[0];
    return sampleOf(nonNull, depth + 1, opts);
  }
  if (Array.isArray(schema.allOf)) return Object.assign({}, ...schema.allOf.map((s: any) => sampleOf(s, depth + 1, opts)));
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const k of schema.required ?? []) out[k] = sampleOf(schema.properties?.[k] ?? {}, depth + 1, opts);
      if (opts.includeUriFields) {
        for (const [k, sub] of Object.entries<any>(schema.properties ?? {})) if (!(k in out) && containsUri(sub)) out[k] = sampleOf(sub, depth + 1, opts);
      }
      return out;
    }
    case 'array': {
      const n = Math.max(schema.minItems ?? 0, opts.includeUriFields && containsUri(schema.items) ? 1 : 0);
      return Array.from({ length: n }, () => sampleOf(schema.items ?? {}, depth + 1, opts));
    }
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 0, schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -Infinity);
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string':
    default:
      return sampleString(schema, opts);
  }
}

function sampleString(schema: any, opts: SampleOptions): string {
  switch (schema.format) {
    case 'uuid':
      return crypto.randomUUID();
    case 'uri':
    case 'url':
      return opts.uri ?? 'https://example.com/fuzz.png';
    case 'date-time':
      return '2025-01-01T00:00:00Z';
    case 'email':
      return 'fuzz@example.com';
  }
  if (typeof schema.pattern === 'string') {
    try {
      const re = new RegExp(schema.pattern);
      for (const candidate of ['https://example.com/fuzz.png', 'fuzz', '0.000000', 'a']) if (re.test(candidate)) return candidate;
      return fc.sample(fc.stringMatching(re), { numRuns: 1, seed: 1 })[0]!;
    } catch {
      /* fall through */
    }
  }
  const min = schema.minLength ?? 1;
  return 'a calm lake at dawn'.padEnd(min, 'a').slice(0, Math.max(min, Math.min(schema.maxLength ?? 19, 19)));
}

/** Every leaf path of a sample value, as key lists: the places a mutation can land. */
export function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, Array.isArray(value) ? Number(k) : k], out);
  }
  return out;
}

export function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy: any = Array.isArray(root) ? [...root] : { ...(root as object) };
  const [head, ...rest] = path;
  copy[head as any] = setAt(copy[head as any], rest, value);
  return copy;
}

/**
 * An error body's Easel code and request id, whichever shape it has: Easel's own
 * `{error, message, request_id}`, or the OpenAI shape of /v1/images/* `{error: {message, type,
 * code, easel_code, request_id}}` (src/api/openai-error.ts).
 */
export function errorOf(body: any): { code: string | undefined; message: string | undefined; requestId: string | undefined; shape: 'easel' | 'openai' | 'unknown' } {
  if (body && typeof body.error === 'string') return { code: body.error, message: body.message, requestId: body.request_id, shape: 'easel' };
  if (body && body.error && typeof body.error === 'object' && typeof body.error.easel_code === 'string') {
    return { code: body.error.easel_code, message: body.error.message, requestId: body.error.request_id, shape: 'openai' };
  }
  return { code: undefined, message: undefined, requestId: undefined, shape: 'unknown' };
}

/** Operations that answer errors in OpenAI's shape (their documented errors reference OpenAIError). */
export const isOpenAIShaped = (template: string) => template.startsWith('/v1/images/');
