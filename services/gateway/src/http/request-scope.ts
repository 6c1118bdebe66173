import type { FastifyReply, FastifyRequest } from 'fastify';
import { currentTraceId, runWithRequestContext } from '@koban/platform';
import type { Party } from '../parties/party.js';
import type { ApiError } from './api-error.js';
import { apiError, retryAfterSeconds } from './error-status.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Epoch ms by which this request must be answered (REQUEST_TIMEOUT_MS after arrival). */
    deadline: number;
    /** Who sent it, once an access hook has authenticated it. */
    party: Party | undefined;
  }
}

/** What a route handler answers: its status, body and any headers beyond the usual ones. */
export interface RouteResult {
  status: number;
  body: unknown;
  headers?: Readonly<Record<string, string>>;
}

const zeroTraceId = '0'.repeat(32);

/** The trace id of the request being handled (all zeros when tracing is off). */
export function traceIdOfActiveSpan(): string {
  return currentTraceId() ?? zeroTraceId;
}

/** `503 service_unavailable` for a request whose deadline passed before it could be answered. */
export function deadlineExceeded(): ApiError {
  return apiError(
    'service_unavailable',
    'the request could not be completed within its deadline; try again',
    undefined,
    retryAfterSeconds.unavailable,
  );
}

/**
 * Settles with `work`, or rejects with {@link deadlineExceeded} once `deadline` passes, whichever
 * comes first: no request waits past its deadline on anything, even a call without a timeout of
 * its own. Work still running then carries on unobserved (its later failure is swallowed, since
 * the answer has been given); money-moving work is idempotent, so a client retry is safe.
 */
export async function withinDeadline<T>(work: () => Promise<T>, deadline: number): Promise<T> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) throw deadlineExceeded();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(deadlineExceeded()), remaining);
  });
  const running = work();
  running.catch(() => undefined);
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A fastify handler running `fn` in the request context (so every gRPC call it makes gets the
 * request's remaining budget as its deadline and carries the request id), bounded by the
 * request's deadline. Errors go to the app's error handler, which maps them to API.md's body.
 */
export function handler(fn: (request: FastifyRequest) => Promise<RouteResult>) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const result = await runWithRequestContext({ deadline: request.deadline, requestId: request.id }, () =>
      withinDeadline(() => fn(request), request.deadline),
    );
    for (const [name, value] of Object.entries(result.headers ?? {})) void reply.header(name, value);
    return reply.code(result.status).send(result.body);
  };
}
