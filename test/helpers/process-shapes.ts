import { Ajv } from 'ajv';

/**
 * The processing and upload response shapes as ../shared/spec/API.md and REFERENCE §2.12/§2.14
 * state them, written independently of the server's schemas. Easel's documented additions
 * (job_id, width, height, size_bytes, hash; upload content_type, width, height, size_bytes)
 * are allowed; nothing else is.
 */
const iso = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$' };
const uuid = { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' };
const positive = { type: 'integer', minimum: 1 };

const processResponse = {
  type: 'object',
  required: ['image_url', 'content_type', 'expires_at', 'operation'],
  properties: {
    image_url: { type: 'string', pattern: '^https?://' },
    content_type: { enum: ['image/png', 'image/jpeg', 'image/webp', 'image/avif'] },
    expires_at: iso,
    operation: { type: 'string', minLength: 1 },
    job_id: uuid,
    width: positive,
    height: positive,
    size_bytes: positive,
    hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  },
  additionalProperties: false,
};

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(processResponse);

export function assertProcessShape(value: unknown): void {
  if (!validate(value)) throw new Error(`process response does not match the spec: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value, null, 2)}`);
}
