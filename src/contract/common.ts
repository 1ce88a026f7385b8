import { Type } from 'typebox';

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
