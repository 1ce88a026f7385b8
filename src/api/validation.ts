import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldError } from '../contract/common.js';
import { dropOptionalNulls } from './null-is-absent.js';

// ajv-formats ships CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

function makeAjv(coerce: boolean): Ajv {
  // removeAdditional:false — an unknown field is an error, never silently dropped.
  const ajv = new Ajv({ allErrors: true, strict: false, removeAdditional: false, coerceTypes: coerce, useDefaults: true });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv;
}

const bodyAjv = makeAjv(false);
const urlAjv = makeAjv(true);

type Validate = ((data: unknown, ctx?: unknown) => boolean) & { errors?: ErrorObject[] | null; schemaEnv?: unknown };

/**
 * JSON bodies are checked strictly (no type coercion); query strings and paths are text, so they
 * are coerced. A body that passes has its optional nulls dropped: null means absent
 * (src/api/null-is-absent.ts).
 */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  if (httpPart !== 'body') {
    const inner = urlAjv.compile(schema as object) as Validate;
    const uuids = uuidProperties(schema);
    if (uuids.length === 0) return inner as ReturnType<FastifySchemaCompiler<unknown>>;
    const check: Validate = (data, ctx) => {
      const ok = inner(data, ctx);
      check.errors = inner.errors;
      if (ok) lowerCaseUuids(data, uuids);
      return ok;
    };
    return check as ReturnType<FastifySchemaCompiler<unknown>>;
  }
  const inner = bodyAjv.compile(schema as object) as Validate;
  const check: Validate = (data, ctx) => {
    const ok = inner(data, ctx);
    check.errors = inner.errors;
    if (ok) dropOptionalNulls(schema, data);
    return ok;
  };
  // fastify hands ajv's root-mutation context only to functions that carry schemaEnv.
  check.schemaEnv = inner.schemaEnv;
  return check as ReturnType<FastifySchemaCompiler<unknown>>;
};

/** The top-level properties of a path or query schema that hold a UUID (`format: uuid`). */
function uuidProperties(schema: unknown): string[] {
  const props = (schema as { properties?: Record<string, { format?: string }> } | null)?.properties ?? {};
  return Object.entries(props).filter(([, p]) => p?.format === 'uuid').map(([k]) => k);
}

/**
 * UUIDs are case-insensitive (RFC 9562 §4): a job id typed in capitals names the same job. They are
 * stored lower-case, so a path or query id is lowered once it has passed its schema.
 */
function lowerCaseUuids(data: unknown, keys: string[]): void {
  if (!data || typeof data !== 'object') return;
  const d = data as Record<string, unknown>;
  for (const k of keys) if (typeof d[k] === 'string') d[k] = (d[k] as string).toLowerCase();
}

const LIMIT_KEYWORDS = new Set(['maxItems', 'minItems', 'maxLength', 'minLength', 'maximum', 'minimum', 'exclusiveMaximum', 'exclusiveMinimum', 'maxProperties']);


/** `/reference_images/2/url` → `reference_images[2].url`, the form a person reads. */
export function toFieldPath(part: string, instancePath: string, missing?: string): string {
  const segs = instancePath.split('/').filter(Boolean);
  if (missing) segs.push(missing);
  let out = part === 'body' ? '' : part;
  for (const s of segs) out += /^\d+$/.test(s) ? `[${s}]` : out ? `.${s}` : s;
  return out || part;
}

/** Which error of a field is reported when several are: the most specific first. */
const RANK: Record<string, number> = { required: 0, additionalProperties: 0, enum: 1, const: 1, format: 2, pattern: 2, type: 4 };
const rank = (e: ErrorObject) => (LIMIT_KEYWORDS.has(e.keyword) ? 2 : (RANK[e.keyword] ?? 3));

/**
 * ajv's errors → one `{path, message}` per field. A field whose schema is a union (`T | null`, a
 * name or an object) fails in each branch; only the branch that says most is reported: the null
 * branch's "must be null" never is, a type error is dropped when the object branch got further
 * (errors deeper inside the field), and the rest is ranked (enum, then limits and patterns, then
 * types; several type errors read "must be string or number").
 */
export function describeValidation(errors: ErrorObject[], part: string): { status: 400 | 422; fields: FieldError[] } {
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if') continue; // the branch errors say it better
    let path: string;
    if (e.keyword === 'additionalProperties') path = toFieldPath(part, e.instancePath, (e.params as { additionalProperty: string }).additionalProperty);
    else if (e.keyword === 'required') path = toFieldPath(part, e.instancePath, (e.params as { missingProperty: string }).missingProperty);
    else path = toFieldPath(part, e.instancePath);
    byPath.set(path, [...(byPath.get(path) ?? []), e]);
  }
  if (byPath.size === 0 && errors.length > 0) byPath.set(toFieldPath(part, errors[0]!.instancePath), [errors[0]!]);
  const paths = [...byPath.keys()];
  const fields: { path: string; message: string; limit: boolean }[] = [];
  for (const [path, errs] of byPath) {
    let candidates = errs.filter((e) => !(e.keyword === 'type' && (e.params as { type: unknown }).type === 'null'));
    if (candidates.length === 0) candidates = errs;
    // A union's object branch reached inside the value: its errors there explain this field.
    const deeper = paths.some((p) => p !== path && (p.startsWith(`${path}.`) || p.startsWith(`${path}[`)));
    if (deeper && candidates.every((e) => e.keyword === 'type')) continue;
    const best = Math.min(...candidates.map(rank));
    const chosen = candidates.filter((e) => rank(e) === best);
    const first = chosen[0]!;
    fields.push({ path, message: messageOf(first, chosen), limit: LIMIT_KEYWORDS.has(first.keyword) });
  }
  // Well-formed values that break a limit are 422; wrong types, unknown or missing fields are 400.
  const status = fields.length > 0 && fields.every((f) => f.limit) ? 422 : 400;
  return { status, fields: fields.slice(0, 20).map(({ path, message }) => ({ path, message })) };
}

function messageOf(e: ErrorObject, same: ErrorObject[]): string {
  switch (e.keyword) {
    case 'additionalProperties':
      return 'is not a known field';
    case 'required':
      return 'is required';
    case 'enum':
      // null is allowed where the schema says so (null means absent); the values are what a person needs.
      return `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.filter((v) => v !== null).join(', ')}`;
    case 'type': {
      const types = [...new Set(same.flatMap((x) => [(x.params as { type: string | string[] }).type].flat()))].filter((t) => t !== 'null');
      return types.length > 0 ? `must be ${types.join(' or ')}` : (e.message ?? 'is invalid');
    }
    default:
      return e.message ?? 'is invalid';
  }
}
