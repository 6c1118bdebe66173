export interface ApiErrorOptions {
  retryAfterSeconds?: number | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
}

/** A public API error: the HTTP status and snake_case code of API.md, and optional details. */
export class ApiError extends Error {
  /** Sent as `Retry-After` (429 and 503 answers). */
  readonly retryAfterSeconds: number | undefined;
  /** Further response headers, e.g. `Idempotent-Replayed` on a replayed decline. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    options: ApiErrorOptions = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
  }
}

/** The error body every non-2xx response carries (API.md, "Errors"). */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    requestId: string;
    traceId: string;
    details?: Record<string, unknown>;
  };
}

export function errorBody(
  error: { code: string; message: string; details?: Record<string, unknown> | undefined },
  ids: { requestId: string; traceId: string },
): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      requestId: ids.requestId,
      traceId: ids.traceId,
      ...(error.details ? { details: error.details } : {}),
    },
  };
}
