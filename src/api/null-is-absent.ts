/**
 * "null means absent" for request bodies. The Depicta reference types many optional fields
 * `null | T` (`reference_url`, `aspect_ratio`, a resize's `width`, …), and clients generated from
 * it send `null` for a field they leave unset. Once a body has passed its schema, every optional
 * property whose value is null is deleted, so handlers, stored requests and idempotency
 * fingerprints see exactly what an omitted field gives. A required property keeps its null (where
 * a schema allows it, null is a value there: `PUT /v1/account/webhook {"url": null}`).
 */

type Schema = Record<string, unknown>;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function dropOptionalNulls(schema: unknown, data: unknown, depth = 0): void {
  if (!isObject(schema) || depth > 32) return;
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const branches = schema[key];
    if (Array.isArray(branches)) for (const b of branches) dropOptionalNulls(b, data, depth + 1);
  }
  if (Array.isArray(data)) {
    if (isObject(schema.items)) for (const item of data) dropOptionalNulls(schema.items, item, depth + 1);
    return;
  }
  if (!isObject(data)) return;
  const props = isObject(schema.properties) ? (schema.properties as Record<string, Schema>) : {};
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  const patterns = isObject(schema.patternProperties) ? Object.entries(schema.patternProperties as Record<string, Schema>).map(([p, s]) => [new RegExp(p, 'u'), s] as const) : [];
  const extra = isObject(schema.additionalProperties) ? schema.additionalProperties : null;
  for (const [k, v] of Object.entries(data)) {
    const own = Object.hasOwn(props, k) ? props[k] : undefined;
    if (own) {
      if (v === null && !required.has(k)) delete data[k];
      else dropOptionalNulls(own, v, depth + 1);
      continue;
    }
    // Map-shaped objects (a character's `states`): their values have their own optional fields.
    const byPattern = patterns.find(([re]) => re.test(k))?.[1] ?? extra;
    if (byPattern) dropOptionalNulls(byPattern, v, depth + 1);
  }
}
