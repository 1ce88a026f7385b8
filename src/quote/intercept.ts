import crypto from 'node:crypto';
import { EaselError } from '../errors.js';

/** What a create route was about to submit when a quote stopped it. */
export interface QuotedSubmit {
  accountId: string;
  operation: string;
  model: string | null;
  holdMicros: number;
  scenesTotal: number;
}

/**
 * POST /v1/quote replays the body through the real create route (fastify inject) so validation,
 * moderation and model checks are exactly the create's. The injected request carries a request id
 * minted here and known only to this process for the duration of the quote; JobService.submit
 * asks interceptQuote whether the current request is such a quote and, if so, records what it
 * would have submitted and aborts before touching the database.
 */
const pending = new Map<string, QuotedSubmit | null>();

export function beginQuote(): string {
  const id = `quote-${crypto.randomBytes(18).toString('hex')}`;
  pending.set(id, null);
  return id;
}

/** What the route submitted (null: it refused before submitting), and forgets the quote. */
export function endQuote(id: string): QuotedSubmit | null {
  const q = pending.get(id) ?? null;
  pending.delete(id);
  return q;
}

export function interceptQuote(input: QuotedSubmit & { requestId?: string | null }): void {
  const id = input.requestId;
  if (id == null || !pending.has(id)) return;
  pending.set(id, { accountId: input.accountId, operation: input.operation, model: input.model, holdMicros: input.holdMicros, scenesTotal: input.scenesTotal });
  throw new EaselError(409, 'quote_only', 'Quoted; no job was created.');
}
