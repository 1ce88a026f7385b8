import type { FastifyRequest } from 'fastify';
import type { SubmitInput } from '../../jobs/service.js';
import { idempotencyOf, type IdempotencyClaim } from '../../idempotency/request.js';
import { requireAuth, type AuthContext } from '../auth.js';
import { jobOptionsOf, type JobOptions } from '../../jobs/options.js';
import type { Catalogue, ModelEntry } from '../../providers/catalogue.js';

/**
 * Who a create request (or its quote) is for, and how it is fingerprinted for an Idempotency-Key.
 * The prepare functions in this folder take this instead of the HTTP request, so POST /v1/quote
 * runs them unchanged.
 */
export interface CreateContext {
  auth: AuthContext;
  /** The Idempotency-Key claim over the body and any uploaded files (400 when malformed); null without a key. */
  idempotency(body: unknown, files?: readonly Buffer[]): IdempotencyClaim | null;
}

/** A job ready to submit: every check made and the price known; the route adds its request id. */
export type PreparedSubmit = Omit<SubmitInput, 'requestId'>;

/** The context of a create route's request (401 without a valid key). */
export function createContext(req: FastifyRequest): CreateContext {
  return { auth: requireAuth(req), idempotency: (body, files) => idempotencyOf(req, body, files) };
}

/** A quote creates nothing, so it claims no Idempotency-Key. */
export function quoteContext(auth: AuthContext): CreateContext {
  return { auth, idempotency: () => null };
}

/** What every prepared job shares: whose it is, and the create request's options, Idempotency-Key and webhook. */
export function preparedFor(ctx: CreateContext, extras: Pick<PreparedSubmit, 'idempotency' | 'webhook'>, options: JobOptions): Pick<PreparedSubmit, 'accountId' | 'keyId' | 'options' | 'idempotency' | 'webhook'> {
  return { accountId: ctx.auth.accountId, keyId: ctx.auth.keyId, options, idempotency: extras.idempotency, webhook: extras.webhook };
}

/**
 * A job of one image at its model's price (generate, edit, combine): the hold is the model's price,
 * or more when the model has fallbacks and the client's max_cost_eur allows a dearer one (Catalogue.holdFor).
 */
export function preparedImage<R>(
  ctx: CreateContext,
  extras: Pick<PreparedSubmit, 'idempotency' | 'webhook'>,
  body: unknown,
  catalogue: Pick<Catalogue, 'holdFor'>,
  job: { operation: string; model: ModelEntry; request: R },
): PreparedSubmit & { request: R } {
  const options = jobOptionsOf(body);
  return {
    ...preparedFor(ctx, extras, options),
    operation: job.operation,
    model: job.model.id,
    request: job.request,
    holdMicros: catalogue.holdFor(job.model, options.maxCostMicros),
    scenesTotal: 1,
  };
}
