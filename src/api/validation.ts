import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldError } from '../contract/common.js';

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

/** JSON bodies are checked strictly (no type coercion); query strings and paths are text, so they are coerced. */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : urlAjv;
  return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
};

const LIMIT_KEYWORDS = new Set(['maxItems', 'minItems', 'maxLength', 'minLength', 'maximum', 'minimum', 'exclusiveMaximum', 'exclusiveMinimum', 'maxProperties']);


/** `/reference_images/2/url` → `reference_images[2].url`, the form a person reads. */
export function toFieldPath(part: string, instancePath: string, missing?: string): string {
  const segs = instancePath.split('/').filter(Boolean);
  if (missing) segs.push(missing);
  let out = part === 'body' ? '' : part;
  for (const s of segs) out += /^\d+$/.test(s) ? `[${s}]` : out ? `.${s}` : s;
  return out || part;
}

export function describeValidation(errors: ErrorObject[], part: string): { status: 400 | 422; fields: FieldError[] } {
  const fields: FieldError[] = [];
  let allLimits = true;
  for (const e of errors) {
    if (e.keyword === 'anyOf' && errors.length > 1) continue; // the branch errors say it better
    if (!LIMIT_KEYWORDS.has(e.keyword)) allLimits = false;
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      fields.push({ path: toFieldPath(part, e.instancePath, extra), message: 'is not a known field' });
    } else if (e.keyword === 'required') {
      fields.push({ path: toFieldPath(part, e.instancePath, (e.params as { missingProperty: string }).missingProperty), message: 'is required' });
    } else if (e.keyword === 'enum') {
      fields.push({ path: toFieldPath(part, e.instancePath), message: `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` });
    } else {
      fields.push({ path: toFieldPath(part, e.instancePath), message: e.message ?? 'is invalid' });
    }
  }
  const seen = new Set<string>();
  const unique = fields.filter((f) => (seen.has(f.path + f.message) ? false : (seen.add(f.path + f.message), true)));
  // Well-formed values that break a limit are 422; wrong types, unknown or missing fields are 400.
  return { status: allLimits && fields.length > 0 ? 422 : 400, fields: unique.slice(0, 20) };
}
