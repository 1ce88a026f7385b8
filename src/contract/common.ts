import { Type, type Static, type TSchema } from 'typebox';

/** Shapes shared by every route. These objects validate requests and generate the OpenAPI document. */
export const Uuid = Type.String({ format: 'uuid', description: 'UUID (Easel issues v7, which sort by time).' });
export const Eur = Type.String({ pattern: '^-?\\d+\\.\\d{6}$', description: 'EUR amount, 6 decimals.', examples: ['0.045000'] });
export const DateTime = Type.String({ format: 'date-time', description: 'RFC 3339 UTC timestamp.' });

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'Machine-readable code.' }),
    message: Type.String({ description: 'A sentence a person can act on.' }),
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
    request_id: Type.String(),
  },
  { $id: 'Error', description: 'The one error shape of every non-2xx response.' },
);

/** One entry of `details.fields` in a 400/422 validation error: where, and what is wrong there. */
export interface FieldError {
  path: string;
  message: string;
}

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, Type.Ref('Error')]));

export const JobIdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

/**
 * `T | null` written the way that validates with one message per field: `type: [T, "null"]`, or
 * `null` added to an enum, rather than `anyOf: [T, {type: null}]` — with anyOf a wrong value fails
 * both branches ("must be one of …" and "must be null"), and a value over a limit would be reported
 * as a type error (400) instead of a limit (422).
 */
export function orNull<T extends TSchema>(t: T) {
  const s = t as unknown as { type?: string | string[]; enum?: unknown[]; anyOf?: unknown[] };
  const widened = Array.isArray(s.enum)
    ? { ...t, enum: [...s.enum, null] }
    : typeof s.type === 'string'
      ? { ...t, type: [s.type, 'null'] }
      : Array.isArray(s.anyOf)
        ? { ...t, anyOf: [...s.anyOf, { type: 'null' }] }
        : { anyOf: [t, { type: 'null' }] };
  return Type.Unsafe<Static<T> | null>(widened);
}

/**
 * An optional request field where `null` means the same as leaving it out. The Depicta reference
 * types these `null | T`, and generated clients send `null` for unset fields; the validator
 * (src/api/validation.ts) drops such a null after validation, so handlers only ever see absent.
 */
export const absentIfNull = <T extends TSchema>(t: T) => Type.Optional(orNull(t));
