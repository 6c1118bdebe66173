/** A public API error: the HTTP status and snake_case code of API.md, and optional details. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
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
