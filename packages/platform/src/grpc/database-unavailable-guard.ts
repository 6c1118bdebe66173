import { isDatabaseUnavailableError } from '../db/sql-access.js';

/** Wraps a unary handler, keeping its request, call and response types. */
export type HandlerGuard = <Request, Call, Response>(
  handler: (request: Request, call: Call) => Promise<Response> | Response,
) => (request: Request, call: Call) => Promise<Response>;

/**
 * A guard for a service's handlers: a failure because the service's database is unreachable or
 * its breaker open ({@link isDatabaseUnavailableError}) is rethrown as `unavailable(error)`, so
 * the service chooses how callers are told to retry later; every other failure passes unchanged.
 */
export function guardDatabaseUnavailable(unavailable: (error: unknown) => Error): HandlerGuard {
  return (handler) => async (request, call) => {
    try {
      return await handler(request, call);
    } catch (error) {
      if (isDatabaseUnavailableError(error)) throw unavailable(error);
      throw error;
    }
  };
}
