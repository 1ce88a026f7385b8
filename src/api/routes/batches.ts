import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { JobIdParams, errorResponses } from '../../contract/common.js';
import { CreateHeaders } from '../../contract/create-headers.js';
import { BatchAccepted, BatchItemList, BatchItemQuery, batchCreateFields } from '../../contract/batches.js';
import { requireAuth } from '../auth.js';
import { EaselError, badRequest, notFound } from '../../errors.js';
import { validatorCompiler } from '../validation.js';
import { jsonObjectBody, jsonOrMultipartCompiler } from '../json-or-multipart.js';
import { toEaselError } from '../error-handler.js';
import { createContext } from '../prepare/context.js';
import { BATCH_OPERATIONS, prepareBatch } from '../prepare/batch.js';
import { BATCH_OPERATION } from '../../jobs/batch-operation.js';
import { allBatchItems, batchItemCursor, batchItems } from '../../batches/items.js';
import { cursorOf, pageRequest } from '../page-request.js';
import { batchTotals } from '../../batches/progress.js';
import { presentBatchItem } from '../../views/present-batch-item.js';
import { storedStatusesOf } from '../../jobs/seed-status.js';
import { microsToEur } from '../../util/money.js';
import type { JobRow } from '../../jobs/row.js';

const BatchBody = Type.Object(
  {
    operation: Type.Enum(BATCH_OPERATIONS, { description: "What every item runs: a job operation (as in a job's `operation`) other than story." }),
    ...batchCreateFields,
  },
  { additionalProperties: false },
);

const BatchForm = Type.Object(
  {
    items: Type.String({ format: 'binary', description: 'A JSONL file: one item (a create body) per line; blank lines are skipped.' }),
    operation: Type.String(),
    defaults: Type.Optional(Type.String({ description: 'A JSON object, as text.' })),
    metadata: Type.Optional(Type.String({ description: 'A JSON object, as text.' })),
    webhook_url: Type.Optional(Type.String()),
    webhook_events: Type.Optional(Type.String({ description: 'A JSON array, as text.' })),
    max_cost_eur: Type.Optional(Type.String()),
    priority: Type.Optional(Type.String()),
    retention_days: Type.Optional(Type.String()),
  },
  { description: 'multipart/form-data: the items as a JSONL file in the field `items`, the other fields as text.' },
);

type ValidateFn = ((data: unknown) => boolean) & { errors?: unknown[] | null };
const checkBody = validatorCompiler({ schema: BatchBody, httpPart: 'body', method: 'POST', url: '/v1/batches' }) as ValidateFn;

/**
 * Batches (issue 21): POST /v1/batches creates a batch job and one job per item; the batch is read
 * as a job (GET /v1/jobs/{id}, or the alias GET /v1/batches/{id}), its items page by page or as
 * JSON lines. @fastify/multipart is registered in this scope only, sized for a JSONL file.
 */
export function batchRoutes(app: FastifyInstance, s: Services): void {
  app.register(async (scope) => {
    await scope.register(fastifyMultipart, { limits: { fileSize: s.config.maxBatchBytes, files: 1, fields: 10, fieldSize: 256 * 1024, parts: 12, headerPairs: 100 } });
    scope.post(
      '/v1/batches',
      {
        bodyLimit: s.config.maxBatchBytes,
        schema: {
          summary: 'Create a batch of generations (Easel)',
          description:
            'Runs many creates of one operation as one job (`operation: "batch"`). Each item is the JSON create body of that operation, merged over `defaults`; or send multipart/form-data with a JSONL file `items` (one body a line). ' +
            'Every item is validated, moderated and priced before anything is created: one refused item refuses the batch with the status a single create would get (400 shapes and types, 422 values and limits, 403/451 moderation), details.fields listing every offending path (items[17].prompt) and details.items every refused item; nothing is charged. ' +
            'The price is the sum of the items, held at once (402 credit_insufficient or spending_cap_reached if it cannot be; 422 max_cost_exceeded over the batch\'s max_cost_eur; an item\'s own max_cost_eur bounds that item). ' +
            'Items run as jobs of their own under the fair scheduler, up to the account\'s running limit at once, each retried, charged when it completes and released when it fails. The batch completes when every item has ended and at least one completed (items_failed counts the others); it fails only if none completed. ' +
            'Answers 202 {job_id, poll_url}; poll the job: scenes_completed / scenes_total count items ended / all, and `batch` has the counts. SSE and webhooks add batch.item.completed and batch.item.failed. ' +
            'Limits: EASEL_MAX_BATCH_ITEMS items (default 1 000), EASEL_MAX_BATCH_BYTES per request (413 beyond), EASEL_MAX_ACTIVE_BATCHES batches waiting or running per account (429 beyond). Idempotency-Key is honoured as on every create.',
          tags: ['batches'],
          body: { content: { 'application/json': { schema: BatchBody }, 'multipart/form-data': { schema: BatchForm } } },
          headers: CreateHeaders,
          response: { 202: BatchAccepted, 200: BatchAccepted, ...errorResponses(400, 401, 402, 403, 404, 409, 413, 415, 422, 429, 451, 500, 503) },
        },
        validatorCompiler: jsonOrMultipartCompiler(),
      },
      async (req, reply) => {
        const ctx = createContext(req);
        const body = req.isMultipart() ? await readBatchForm(req, s.config.maxBatchBytes) : jsonObjectBody(req, 'multipart/form-data with a JSONL file "items"');
        const input = await prepareBatch(s, ctx, body, req.id);
        const job = await s.jobs.submitBatch(input);
        req.log.info({ job_id: job.id, items: input.items.length, replayed: job.replayed === true }, 'batch accepted');
        const price = input.items.reduce((a, i) => a + i.holdMicros, 0);
        // A replayed Idempotency-Key answers with the batch it created first.
        const totals = job.replayed ? await batchTotals(s.db, job.id) : undefined;
        return reply.code(202).send({
          job_id: job.id,
          poll_url: `/v1/jobs/${job.id}`,
          items_total: totals ? totals.items_total : input.items.length,
          price_eur: microsToEur(totals ? totals.hold_micros : price),
        });
      },
    );
  });

  app.get(
    '/v1/batches/:id',
    {
      schema: {
        summary: 'Get a batch (Easel)',
        description: 'The batch\'s job, as GET /v1/jobs/{id} shows it (404 for a job that is not a batch).',
        tags: ['batches'],
        params: JobIdParams,
        response: { 200: Type.Ref('Job'), ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => s.presenter.job(await batchOf(s, req)),
  );

  app.get(
    '/v1/batches/:id/items',
    {
      schema: {
        summary: "List a batch's items (Easel)",
        description:
          'The items in request order: each with its index, job_id, status, cost, and its result (fresh signed URLs) or error. `status` filters (comma list; failed includes canceled items, canceled selects them alone); `total` counts the filtered items. Each item is also a job: GET /v1/jobs/{job_id}. ' +
          'Pages by offset, or by the Easel cursor: next_cursor (an opaque token, null on the last page) back as starting_after, with the same status filter; a cursor page starts after an item index, so items that change status between two pages are neither repeated nor skipped by the index order.',
        tags: ['batches'],
        params: JobIdParams,
        querystring: BatchItemQuery,
        response: { 200: BatchItemList, ...errorResponses(400, 401, 404, 422) },
      },
    },
    async (req) => {
      const batch = await batchOf(s, req);
      const q = req.query as Static<typeof BatchItemQuery>;
      const { limit, offset, startingAfter } = pageRequest(q, 100);
      const after = cursorOf(startingAfter, batchItemCursor.decode, 'GET /v1/batches/{id}/items');
      const { rows, total, more } = await batchItems(s.db, batch.id, q.status ? storedStatusesOf(q.status.split(',')) : null, { limit, offset, after });
      const last = rows[rows.length - 1];
      return { items: await Promise.all(rows.map((r) => presentBatchItem(s.presenter, r))), limit, offset, total, next_cursor: more && last ? batchItemCursor.encode(last) : null };
    },
  );

  app.get(
    '/v1/batches/:id/results.jsonl',
    {
      schema: {
        summary: "Every item of a batch as JSON lines (Easel)",
        description:
          'One line per item in request order, each a BatchItem object (as in GET /v1/batches/{id}/items) with freshly signed URLs, so a client downloads everything in one request, while the batch runs or after. Content-Type application/x-ndjson.',
        tags: ['batches'],
        params: JobIdParams,
        response: {
          200: { description: 'application/x-ndjson: one BatchItem per line (the schema is each line\'s).', content: { 'application/x-ndjson': { schema: Type.Ref('BatchItem') } } },
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (req, reply) => {
      const batch = await batchOf(s, req);
      const lines: string[] = [];
      for await (const item of allBatchItems(s.db, batch.id)) lines.push(JSON.stringify(await presentBatchItem(s.presenter, item)));
      return reply.type('application/x-ndjson').send(lines.length > 0 ? `${lines.join('\n')}\n` : '');
    },
  );

  app.post(
    '/v1/batches/:id/cancel',
    {
      schema: {
        summary: 'Cancel a batch (Easel)',
        description:
          'As POST /v1/jobs/{id}/cancel on the batch: finished items are kept (their results stay, they stay charged); waiting items are canceled at once and their holds returned; a running item finishes its call and its result is discarded uncharged. ' +
          '200 when no item was running (the batch ended canceled), else 202 with cancel_requested_at; the batch ends canceled (status failed, error.code canceled, canceled: true) when its last running item has. 409 when the batch already ended.',
        tags: ['batches'],
        params: JobIdParams,
        response: { 200: Type.Ref('Job'), 202: Type.Ref('Job'), ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (req, reply) => {
      const batch = await batchOf(s, req);
      const job = await s.jobs.cancel(batch.id, batch.account_id);
      if (!job) throw notFound(`No batch ${batch.id}.`);
      return reply.code(job.status === 'canceled' ? 200 : 202).send(await s.presenter.job(job));
    },
  );
}

/** The batch of the path, this account's; 404 for another account's job or a job that is not a batch. */
async function batchOf(s: Services, req: FastifyRequest): Promise<JobRow> {
  const auth = requireAuth(req);
  const { id } = req.params as Static<typeof JobIdParams>;
  const job = await s.jobs.getForAccount(id, auth.accountId);
  if (!job || job.operation !== BATCH_OPERATION) throw notFound(`No batch ${id}.`);
  return job;
}

const JSON_FIELDS = new Set(['defaults', 'metadata', 'webhook_events']);

/**
 * A multipart batch: the JSONL file `items` (one JSON object a line) and the other fields as text,
 * turned into the JSON body and validated by the same schema, so both forms answer alike.
 */
async function readBatchForm(req: FastifyRequest, maxBytes: number): Promise<Record<string, unknown>> {
  const fields: Record<string, unknown> = {};
  let file: Buffer | null = null;
  try {
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'items' || file) {
          part.file.resume();
          throw badRequest(`Send the items as one JSONL file in the field "items".`, { fields: [{ path: part.fieldname, message: 'is not a known file field' }] });
        }
        file = await part.toBuffer();
      } else {
        if (part.fieldname in fields) throw badRequest(`The field "${part.fieldname}" was sent twice.`, { fields: [{ path: part.fieldname, message: 'must be sent once' }] });
        const v = String(part.value);
        fields[part.fieldname] = JSON_FIELDS.has(part.fieldname) ? parseOr(v) : part.fieldname === 'retention_days' && /^\d{1,4}$/.test(v) ? Number(v) : v;
      }
    }
  } catch (e) {
    if (e instanceof EaselError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw new EaselError(413, 'payload_too_large', `The items file is larger than ${maxBytes} bytes (EASEL_MAX_BATCH_BYTES); split the batch.`, { limit: maxBytes });
    if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT' || code === 'FST_FILES_LIMIT') throw badRequest('The multipart body has too many parts.');
    throw badRequest('The multipart body is malformed or was cut short.');
  }
  if (!file) throw badRequest('The file "items" is required: one JSON create body a line.', { fields: [{ path: 'items', message: 'is required' }] });
  fields.items = jsonLines(file);
  if (!checkBody(fields)) throw toEaselError(Object.assign(new Error('invalid form'), { validation: checkBody.errors ?? [], validationContext: 'body' }) as never);
  return fields;
}

function parseOr(v: string): unknown {
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/** JSONL → objects; a line that is not a JSON object is a 400 naming its line (1-based) and item index. */
function jsonLines(file: Buffer): unknown[] {
  const out: unknown[] = [];
  const lines = file.toString('utf8').split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (!line) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw badRequest(`Line ${n + 1} of the items file is not JSON.`, { fields: [{ path: `items[${out.length}]`, message: `line ${n + 1} is not JSON` }] });
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest(`Line ${n + 1} of the items file is not a JSON object.`, { fields: [{ path: `items[${out.length}]`, message: `line ${n + 1} is not a JSON object` }] });
    out.push(v);
  }
  return out;
}

