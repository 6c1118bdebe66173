import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What an incoming request (a gRPC call, or an HTTP request at the gateway) lends to the work
 * done on its behalf: outgoing gRPC calls read it to propagate the remaining time budget and
 * the request id.
 */
export interface RequestContext {
  /** Epoch milliseconds after which the caller has given up; undefined when it set none. */
  readonly deadline: number | undefined;
  /** The gateway's `X-Request-Id`, carried to every hop as `x-request-id` metadata. */
  readonly requestId?: string | undefined;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` with `context` as the current request context (for it and all it awaits). */
export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The request context of the work in progress, if any. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * Milliseconds left before the current request's deadline: `Infinity` outside a request or
 * without a deadline, and never below 0.
 */
export function remainingBudgetMs(now: number = Date.now()): number {
  const deadline = storage.getStore()?.deadline;
  return deadline === undefined ? Infinity : Math.max(0, deadline - now);
}
