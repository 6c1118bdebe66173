import * as grpc from '@grpc/grpc-js';
import { DomainError } from './domain-error.js';

/** Trailing metadata key carrying a DomainError's snake_case code (see proto/README.md). */
export const ERROR_CODE_METADATA_KEY = 'koban-error-code';
/** Trailing metadata key carrying a DomainError's details as UTF-8 JSON (binary: `-bin`). */
export const ERROR_DETAILS_METADATA_KEY = 'koban-error-details-bin';

/** The name of a gRPC status code, e.g. `UNAVAILABLE`. */
export function statusName(code: grpc.status): string {
  return grpc.status[code] ?? `STATUS_${code}`;
}

/**
 * Thrown by a handler to answer with an explicit gRPC status and message, e.g. `UNAVAILABLE`
 * when a required dependency is down. The message reaches the caller, so it must say nothing
 * internal. Business outcomes are DomainErrors instead.
 */
export class GrpcStatusError extends Error {
  override readonly name = 'GrpcStatusError';

  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A gRPC call that failed for a reason other than a business outcome: the dependency was
 * unavailable, the deadline passed, the call was cancelled, or the server had an internal error.
 */
export class GrpcCallError extends Error {
  override readonly name = 'GrpcCallError';

  constructor(
    /** The status the call ended with. */
    readonly code: grpc.status,
    /** The full method path, e.g. `/koban.ledger.v1.LedgerService/Transfer`. */
    readonly method: string,
    /** The status message the server (or the local library) gave. */
    readonly details: string,
    /** The trailing metadata, when the call got that far. */
    readonly metadata?: grpc.Metadata,
    options?: { cause?: unknown },
  ) {
    super(`${method} failed with ${statusName(code)}: ${details}`, options);
  }
}

/** The trailing metadata that carries a DomainError's code and details to the client. */
export function domainErrorMetadata(error: DomainError): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, error.code);
  if (error.details !== undefined) {
    metadata.set(ERROR_DETAILS_METADATA_KEY, Buffer.from(JSON.stringify(error.details), 'utf8'));
  }
  return metadata;
}

function readDetails(metadata: grpc.Metadata): Record<string, unknown> | undefined {
  const [value] = metadata.get(ERROR_DETAILS_METADATA_KEY);
  if (!Buffer.isBuffer(value)) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    // Details are a courtesy; a malformed value must not hide the error code itself.
    return undefined;
  }
}

/**
 * What a failed client call becomes: a DomainError when the server sent `koban-error-code`
 * (a business outcome), otherwise a GrpcCallError with the status.
 */
export function fromServiceError(error: grpc.ServiceError, method: string): DomainError | GrpcCallError {
  const metadata = error.metadata as grpc.Metadata | undefined;
  const [code] = metadata?.get(ERROR_CODE_METADATA_KEY) ?? [];
  if (metadata !== undefined && typeof code === 'string' && code.length > 0) {
    return new DomainError(code, error.details, readDetails(metadata), { status: error.code, cause: error });
  }
  return new GrpcCallError(error.code, method, error.details, metadata, { cause: error });
}
