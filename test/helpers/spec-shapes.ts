import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * The job shapes as ../shared/spec/API.md states them, written here independently of the
 * server's own schemas, so a drift in either is caught. Easel's optional extensions
 * (operation, model, canceled, a story's per-scene `scenes`) are allowed; nothing else is.
 */
const iso = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$' };
const eur = { type: 'string', pattern: '^-?\\d+\\.\\d{6}$' };
const hex64 = { type: 'string', pattern: '^[0-9a-f]{64}$' };
const uuid = { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' };

const formatFile = {
  type: 'object',
  required: ['url', 'format', 'size_bytes', 'hash', 'expires_at'],
  properties: { url: { type: 'string', pattern: '^https?://' }, format: { type: 'string' }, size_bytes: { type: 'integer', minimum: 1 }, hash: hex64, expires_at: iso },
  additionalProperties: false,
};

/** A story scene's files: `images` as the Depicta stories guide reads them (a URL per format), `formats` each file's detail (Easel). */
const sceneImages = { type: 'object', required: ['png', 'jpeg', 'webp'], properties: { png: { type: 'string', pattern: '^https?://' }, jpeg: { type: 'string', pattern: '^https?://' }, webp: { type: 'string', pattern: '^https?://' } }, additionalProperties: false };
const sceneFormats = { type: 'object', required: ['png', 'jpeg', 'webp'], properties: { png: formatFile, jpeg: formatFile, webp: formatFile }, additionalProperties: false };

/** Easel (issue 22): the resolved parameters of one generation; null where unknown. */
const nullable = (t: object) => ({ anyOf: [t, { type: 'null' }] });
const params = {
  type: 'object',
  required: ['model', 'vendor_model', 'vendor_version', 'seed', 'width', 'height', 'steps', 'sampler', 'guidance', 'adapter'],
  properties: {
    model: { type: 'string', minLength: 1 },
    vendor_model: nullable({ type: 'string' }),
    vendor_version: nullable({ type: 'string' }),
    seed: nullable({ type: 'integer' }),
    width: { type: 'integer', minimum: 1 },
    height: { type: 'integer', minimum: 1 },
    steps: nullable({ type: 'integer', minimum: 0 }),
    sampler: nullable({ type: 'string' }),
    guidance: nullable({ type: 'number' }),
    adapter: nullable({ type: 'string' }),
  },
  additionalProperties: false,
};

export const generationResponseSchema = {
  type: 'object',
  required: ['id', 'ai_generated', 'formats', 'cost_eur', 'balance_eur', 'image_hash'],
  properties: {
    id: uuid,
    ai_generated: { const: true },
    formats: { type: 'object', required: ['png', 'jpeg', 'webp'], properties: { png: formatFile, jpeg: formatFile, webp: formatFile }, additionalProperties: false },
    cost_eur: eur,
    balance_eur: eur,
    image_hash: hex64,
    model: { type: 'string' },
  },
  additionalProperties: false,
};

export const jobSchema = {
  type: 'object',
  required: ['job_id', 'status', 'created_at', 'scenes_completed', 'scenes_total'],
  properties: {
    job_id: uuid,
    // The seed's four statuses: a cancel (Easel) is failed, with canceled: true and error.code canceled.
    status: { enum: ['pending', 'processing', 'completed', 'failed'] },
    canceled: { const: true },
    canceled_at: iso,
    operation: { type: 'string' },
    model: { type: 'string' },
    created_at: iso,
    started_at: iso,
    completed_at: iso,
    scenes_completed: { type: 'integer', minimum: 0 },
    scenes_total: { type: 'integer', minimum: 0 },
    result: { type: 'object' },
    error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } }, additionalProperties: false },
    // Easel extensions (issue 7, part A): money, metadata, cancel, queue, retention.
    cost: { type: 'object', required: ['held_eur', 'charged_eur', 'refunded_eur'], properties: { held_eur: eur, charged_eur: eur, refunded_eur: eur }, additionalProperties: false },
    max_cost_eur: eur,
    // Easel extensions (issue 22): what produced a completed single image; a kept result served it.
    params,
    cached: { const: true },
    rerouted: { type: 'object', required: ['from_model', 'reason'], properties: { from_model: { type: 'string' }, reason: { enum: ['no_healthy_backend', 'overflow'] } }, additionalProperties: false },
    // Easel extension (issue 18): the job's order within its account.
    priority: { enum: ['low', 'normal', 'high'] },
    metadata: { type: 'object', maxProperties: 16, additionalProperties: { type: 'string', maxLength: 500 } },
    cancel_requested_at: iso,
    queue_position: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] },
    estimated_start_at: { anyOf: [iso, { type: 'null' }] },
    estimated_completed_at: { anyOf: [iso, { type: 'null' }] },
    result_expires_at: iso,
    result_expired: { const: true },
    // Easel extensions (issue 24): what the job was asked for; a story's portraits before its scenes.
    prompt: { type: 'string', minLength: 1, maxLength: 200 },
    phase: { enum: ['portraits', 'scenes'] },
    portraits_completed: { type: 'integer', minimum: 0 },
    portraits_total: { type: 'integer', minimum: 0 },
    // Easel extension (issue 22): live progress, only while processing.
    progress: {
      type: 'object',
      required: ['stage', 'fraction', 'updated_at'],
      properties: {
        stage: { enum: ['queued', 'loading', 'sampling', 'encoding'] },
        step: { type: 'integer', minimum: 0 },
        steps: { type: 'integer', minimum: 0 },
        fraction: { type: 'number', minimum: 0, maximum: 1 },
        scene: { type: 'integer', minimum: 1 },
        queue_position: { type: 'integer', minimum: 0 },
        preview_url: { type: 'string', pattern: '^https?://' },
        preview_expires_at: iso,
        updated_at: { type: 'string', format: 'date-time' },
      },
      additionalProperties: false,
    },
    // Easel extension (stories, until completed): per-scene progress.
    scenes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['index', 'status', 'prompt'],
        properties: {
          index: { type: 'integer', minimum: 0 },
          status: { enum: ['completed', 'pending', 'processing', 'failed', 'skipped', 'canceled'] },
          prompt: { type: 'string' },
          cost_eur: eur,
          images: sceneImages,
          formats: sceneFormats,
          error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } }, additionalProperties: false },
          // Easel (issue 22): what produced a completed scene.
          params,
        },
        additionalProperties: false,
        allOf: [
          // Completed scenes have images until the job's retention ends (result_expired); only they have params.
          { if: { properties: { status: { const: 'completed' } } }, else: { not: { required: ['params'] } } },
          // Completed scenes have images until the job's retention ends (result_expired).
          { if: { properties: { status: { const: 'completed' } } }, then: { required: ['cost_eur'] }, else: { not: { anyOf: [{ required: ['images'] }, { required: ['formats'] }, { required: ['cost_eur'] }] } } },
          { if: { required: ['images'] }, then: { required: ['formats'] }, else: { not: { required: ['formats'] } } },
          { if: { properties: { status: { const: 'failed' } } }, then: { required: ['error'] }, else: { not: { required: ['error'] } } },
        ],
      },
    },
  },
  additionalProperties: false,
  allOf: [
    // Omission rules of the seed.
    { if: { properties: { status: { const: 'pending' } } }, then: { not: { anyOf: [{ required: ['started_at'] }, { required: ['completed_at'] }] } } },
    { if: { properties: { status: { enum: ['pending', 'processing'] } } }, then: { not: { required: ['completed_at'] } } },
    // An ended job has both times — but one canceled while pending never started (Easel: canceled: true).
    { if: { properties: { status: { enum: ['completed', 'failed'] } } }, then: { required: ['completed_at'] } },
    { if: { properties: { status: { enum: ['completed', 'failed'] } }, not: { required: ['canceled'] } }, then: { required: ['started_at'] } },
    // A completed job has its result, unless its retention ended (Easel: result_expired, files deleted).
    { if: { properties: { status: { const: 'completed' } }, not: { required: ['result_expired'] } }, then: { required: ['result'] }, else: { not: { required: ['result'] } } },
    { if: { properties: { status: { const: 'failed' } } }, then: { required: ['error'] }, else: { not: { required: ['error'] } } },
    { if: { required: ['progress'] }, then: { properties: { status: { const: 'processing' } } } },
    // A phase only while a story is processing; portrait counts only on stories.
    { if: { required: ['phase'] }, then: { properties: { status: { const: 'processing' }, operation: { const: 'story' } }, required: ['portraits_completed', 'portraits_total'] } },
    { if: { required: ['portraits_total'] }, then: { properties: { operation: { const: 'story' } }, required: ['portraits_completed'] } },
    // A cancel: failed, error.code canceled, canceled_at beside it; nothing else says canceled.
    {
      if: { required: ['canceled'] },
      then: { required: ['canceled_at'], properties: { status: { const: 'failed' }, error: { properties: { code: { const: 'canceled' } } } } },
      else: { not: { required: ['canceled_at'] } },
    },
  ],
};

/** The story result: the generation-response shape with `scenes` and `character_refs` (spec), plus `characters` (spec decision 7). */
const storyRef = (urlField: 'url' | 'reference_url') => ({
  type: 'object',
  required: ['name', urlField, 'expires_at'],
  properties: {
    name: { type: 'string', minLength: 1 },
    [urlField]: { type: 'string', pattern: '^https?://' },
    expires_at: { anyOf: [iso, { type: 'null' }] },
    // Easel: the character and state behind a "Name (state)" reference.
    character: { type: 'string' },
    state: { type: 'string' },
    // Easel (issue 22): a generated portrait's params.
    params,
  },
  additionalProperties: false,
});

export const storyResultSchema = {
  type: 'object',
  required: ['id', 'ai_generated', 'scenes', 'character_refs', 'cost_eur', 'balance_eur'],
  properties: {
    id: uuid,
    ai_generated: { const: true },
    scenes: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['prompt', 'images', 'formats'],
        properties: {
          prompt: { type: 'string' },
          images: sceneImages,
          formats: sceneFormats,
          params,
        },
        additionalProperties: false,
      },
    },
    character_refs: { type: 'array', items: storyRef('url') },
    characters: { type: 'array', items: storyRef('reference_url') },
    cost_eur: eur,
    balance_eur: eur,
    model: { type: 'string' },
  },
  additionalProperties: false,
};

export const storyAcceptedSchema = {
  type: 'object',
  required: ['job_id', 'poll_url'],
  properties: { job_id: uuid, poll_url: { type: 'string', pattern: '^/v1/generate/story/[0-9a-f-]{36}$' } },
  additionalProperties: false,
};

export const jobListSchema = {
  type: 'object',
  required: ['generations', 'limit', 'offset', 'total'],
  properties: {
    generations: { type: 'array', items: jobSchema },
    limit: { type: 'integer' },
    offset: { type: 'integer' },
    total: { type: 'integer' },
    // Easel extension (issue 25): the cursor of the next page, null on the last.
    next_cursor: nullable({ type: 'string', minLength: 1 }),
  },
  additionalProperties: false,
};

/** `GET /v1/models`, as the spec lists a model's fields (Easel adds `aliases`). */
export const modelListSchema = {
  type: 'object',
  required: ['models', 'cached_at', 'disclaimer'],
  properties: {
    cached_at: iso,
    disclaimer: { type: 'string', minLength: 1 },
    models: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'name', 'description', 'operations', 'can_generate', 'can_edit', 'supports_multiturn', 'aspect_ratios', 'image_sizes', 'fixed_sizes', 'output_formats', 'approximate_cost_eur', 'max_characters', 'max_combine_inputs'],
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          description: { type: 'string' },
          aliases: { type: 'array', items: { type: 'string' } },
          operations: { type: 'array', items: { enum: ['generate', 'edit', 'combine'] } },
          can_generate: { type: 'boolean' },
          can_edit: { type: 'boolean' },
          supports_multiturn: { type: 'boolean' },
          aspect_ratios: { type: 'array', items: { type: 'string' } },
          image_sizes: { type: 'array', items: { type: 'string' } },
          fixed_sizes: { type: 'array', items: { type: 'string', pattern: '^\\d+x\\d+$' } },
          output_formats: { type: 'array', items: { type: 'string' } },
          approximate_cost_eur: eur,
          max_characters: { type: 'integer', minimum: 0 },
          max_combine_inputs: { type: 'integer', minimum: 0 },
          // Easel (issue 22): a cacheable model's cache terms, all three or none.
          cacheable: { const: true },
          cache_price_eur: eur,
          cache_shared: { type: 'boolean' },
        },
        dependentRequired: { cacheable: ['cache_price_eur', 'cache_shared'], cache_price_eur: ['cacheable'], cache_shared: ['cacheable'] },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
};

const addFormats = (addFormatsModule as unknown as { default?: (a: Ajv) => void }).default ?? (addFormatsModule as unknown as (a: Ajv) => void);
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const compiled = {
  job: ajv.compile(jobSchema),
  jobList: ajv.compile(jobListSchema),
  generation: ajv.compile(generationResponseSchema),
  story: ajv.compile(storyResultSchema),
  storyAccepted: ajv.compile(storyAcceptedSchema),
  models: ajv.compile(modelListSchema),
};

export function assertSpecShape(kind: keyof typeof compiled, value: unknown): void {
  const v = compiled[kind];
  if (!v(value)) throw new Error(`${kind} does not match the spec: ${ajv.errorsText(v.errors)}\n${JSON.stringify(value, null, 2)}`);
  if (kind === 'job' && (value as { status: string }).status === 'completed' && (value as { result_expired?: boolean }).result_expired !== true) {
    const r = (value as { result: unknown }).result;
    if ((value as { operation?: string }).operation === 'image') assertSpecShape('generation', r);
    if ((value as { operation?: string }).operation === 'story') assertSpecShape('story', r);
  }
}

/** Validates a response body against a schema of the server's own OpenAPI document (the other half of "cannot drift"). */
export function openApiValidator(doc: any): (schemaName: string, value: unknown) => void {
  const a = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  addFormats(a);
  // The whole document is one schema resource, so the components' own `#/components/schemas/…` refs resolve.
  a.addSchema(doc, 'openapi.json');
  const compiled = new Map<string, ReturnType<Ajv['compile']>>();
  return (schemaName, value) => {
    if (!doc.components?.schemas?.[schemaName]) throw new Error(`no schema ${schemaName} in the OpenAPI document`);
    let v = compiled.get(schemaName);
    if (!v) compiled.set(schemaName, (v = a.compile({ $ref: `openapi.json#/components/schemas/${schemaName}` })));
    if (!v(value)) throw new Error(`${schemaName} does not match the OpenAPI document: ${a.errorsText(v.errors)}`);
  };
}
