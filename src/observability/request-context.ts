import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContext {
  requestId: string;
}

/**
 * The HTTP request a piece of work belongs to. The API enters it right before each route handler
 * (a preHandler hook), so code the handler calls — JobService.submit, for one — can stamp the
 * request id on what it creates without every route passing it along.
 */
export const requestContext = new AsyncLocalStorage<RequestContext>();

export function currentRequestId(): string | null {
  return requestContext.getStore()?.requestId ?? null;
}
