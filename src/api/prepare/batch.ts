import type { Services } from '../../app.js';
import type { BatchSubmit } from '../../jobs/batch-submit.js';
import type { NewJob } from '../../jobs/new-row.js';
import { checkMaxCost, jobOptionsOf } from '../../jobs/options.js';
import { EaselError, validationFailed } from '../../errors.js';
import { mapLimit } from '../../util/map-limit.js';
import { createExtras } from '../create-extras.js';
import type { CreateContext } from './context.js';
import { quoteContext } from './context.js';
import { QUOTABLE_OPERATIONS, prepareForQuote } from './quotable.js';

/** Every job-creating operation but a story (a story is many steps already, and has its own progress). */
export const BATCH_OPERATIONS = QUOTABLE_OPERATIONS.filter((op) => op !== 'story');

/** Fields of the batch itself: an item that sets one would be silently overruled, so it is refused. */
const BATCH_ONLY = ['webhook_url', 'webhook_events', 'priority', 'retention_days'] as const;

/** Items prepared at once: moderation and pricing are CPU work, URL inputs may be fetched. */
const PREPARE_CONCURRENCY = 8;

interface ItemRefusal {
  index: number;
  status: number;
  error: string;
  message: string;
  fields: { path: string; message: string }[];
}

/**
 * Validates, moderates and prices every item of a batch with the very checks its operation's
 * create runs (src/api/prepare/quotable.ts), before anything is written or charged. One refused
 * item refuses the batch, with every refused item's paths (`items[17].prompt`) in one error: a
 * client fixes them all at once instead of one per round trip.
 */
export async function prepareBatch(s: Services, ctx: CreateContext, body: Record<string, unknown>, requestId: string): Promise<BatchSubmit> {
  const operation = String(body.operation);
  const rawItems = body.items as Record<string, unknown>[];
  if (rawItems.length > s.config.maxBatchItems) {
    throw validationFailed(`A batch holds at most ${s.config.maxBatchItems} items; this one has ${rawItems.length}. Split it.`, {
      fields: [{ path: 'items', message: `must hold at most ${s.config.maxBatchItems} items` }],
      limit: s.config.maxBatchItems,
    });
  }
  const extras = await createExtras(s, ctx, body);
  const options = jobOptionsOf(body);
  const defaults = (body.defaults ?? {}) as Record<string, unknown>;
  for (const k of BATCH_ONLY) {
    if (k in defaults) throw validationFailed(`defaults.${k}: set ${k} on the batch itself.`, { fields: [{ path: `defaults.${k}`, message: 'belongs to the batch' }] });
  }
  const itemCtx = quoteContext(ctx.auth);
  const refusals: ItemRefusal[] = [];
  const prepared = await mapLimit(rawItems.map((item, index) => ({ item, index })), PREPARE_CONCURRENCY, async ({ item, index }): Promise<NewJob | null> => {
    const own = BATCH_ONLY.filter((k) => k in item);
    if (own.length > 0) {
      refusals.push({ index, status: 422, error: 'validation_failed', message: `${own.join(', ')} belong to the batch, not to an item.`, fields: own.map((k) => ({ path: `items[${index}].${k}`, message: 'belongs to the batch' })) });
      return null;
    }
    try {
      const p = await prepareForQuote(s, itemCtx, operation, { ...defaults, ...item });
      checkMaxCost(p.options, p.holdMicros);
      return { accountId: p.accountId, keyId: p.keyId, operation: p.operation, model: p.model, request: p.request, holdMicros: p.holdMicros, scenesTotal: p.scenesTotal, requestId, options: p.options, plan: p.plan };
    } catch (e) {
      if (!(e instanceof EaselError)) throw e;
      refusals.push(refusalOf(index, e));
      return null;
    }
  });
  if (refusals.length > 0) throw batchRefused(refusals, rawItems.length);
  return {
    accountId: ctx.auth.accountId,
    keyId: ctx.auth.keyId,
    requestId,
    operation,
    request: { operation, items_total: rawItems.length, ...(body.defaults ? { defaults } : {}) },
    options,
    idempotency: extras.idempotency,
    webhook: extras.webhook,
    items: prepared as NewJob[],
  };
}

/** An item's refusal, its paths under `items[i]`. */
function refusalOf(index: number, e: EaselError): ItemRefusal {
  const at = (path: string) => (path === 'body' || path === '' ? `items[${index}]` : `items[${index}].${path}`);
  const given = (e.details?.fields as { path: string; message: string }[] | undefined) ?? [];
  const field = typeof e.details?.field === 'string' ? e.details.field : null;
  const fields = given.length > 0 ? given.map((f) => ({ path: at(f.path), message: f.message })) : [{ path: at(field ?? ''), message: e.message }];
  return { index, status: e.status, error: e.code, message: e.message, fields };
}

/**
 * The batch's refusal: the status a single create would get for the gravest kind among the items
 * (a malformed body 400, then values and limits 422, then moderation 403/451, then anything else).
 */
function batchRefused(refusals: ItemRefusal[], total: number): EaselError {
  refusals.sort((a, b) => a.index - b.index);
  const rank = (r: ItemRefusal) => [400, 422, 451, 403].indexOf(r.status) >>> 0;
  const gravest = refusals.reduce((a, b) => (rank(b) < rank(a) ? b : a));
  const first = refusals[0]!;
  return new EaselError(
    gravest.status,
    gravest.error,
    `${refusals.length} of ${total} items were refused; nothing was created or charged. First: ${first.fields[0]!.path}: ${first.message}`,
    {
      fields: refusals.flatMap((r) => r.fields),
      items: refusals.map((r) => ({ index: r.index, status: r.status, error: r.error, message: r.message })),
    },
  );
}
