import { Type } from 'typebox';

/**
 * Optional fields every job-creating request accepts (issue 7). Spread into each create body so
 * that unknown fields still answer 400 and the OpenAPI document describes them on every route.
 */
export const METADATA_LIMITS = { pairs: 16, keyLength: 40, valueLength: 500 } as const;
/** Keys are plain words so `GET /v1/jobs?metadata[key]=value` parses without escaping rules. */
export const METADATA_KEY_PATTERN = '^[A-Za-z0-9_.:-]{1,40}$';
export const RETENTION_DAYS_MAX = 3650;

export const MaxCostEur = Type.Union(
  [Type.String({ pattern: '^\\d{1,9}(\\.\\d{1,6})?$' }), Type.Number({ minimum: 0, maximum: 1e9 })],
  {
    description:
      'Easel: the most this request may cost, in EUR (a decimal string like "0.050000", or a number). If the quoted price (the hold) is higher, the request is refused with 422 max_cost_exceeded and nothing is charged.',
  },
);

export const JobMetadata = Type.Record(Type.String(), Type.String({ maxLength: METADATA_LIMITS.valueLength }), {
  maxProperties: METADATA_LIMITS.pairs,
  propertyNames: { pattern: METADATA_KEY_PATTERN },
  description: `Easel: up to ${METADATA_LIMITS.pairs} string pairs stored on the job and returned with it; keys 1–${METADATA_LIMITS.keyLength} characters of A–Z a–z 0–9 _ . : -, values up to ${METADATA_LIMITS.valueLength} characters. Filter with GET /v1/jobs?metadata[key]=value.`,
});

export const RetentionDays = Type.Integer({
  minimum: 1,
  maximum: RETENTION_DAYS_MAX,
  description: 'Easel: keep this job\'s files this many days after it ends (default: the server\'s EASEL_RETENTION_DAYS). Afterwards the files are deleted and the job answers with result_expired: true.',
});

export const JobPriority = Type.Union([Type.Literal('low'), Type.Literal('normal'), Type.Literal('high')], {
  description:
    "Easel: the job's order among the account's own waiting jobs (default normal). High goes before normal before low when they were submitted within EASEL_PRIORITY_AGING_S of each other; older jobs go first whatever their priority, so a low job never waits forever. It does not move the job ahead of other accounts: those share the workers fairly by weight.",
});

/** Multipart forms (edit, combine) take the same fields as text: metadata as a JSON object string, retention_days as digits. */
export const jobOptionFields = {
  priority: Type.Optional(JobPriority),
  max_cost_eur: Type.Optional(MaxCostEur),
  metadata: Type.Optional(JobMetadata),
  retention_days: Type.Optional(RetentionDays),
};
