/**
 * An expected business outcome (insufficient funds, declined, locked, duplicate...), not a bug.
 *
 * `code` is a snake_case code from the catalogue in proto/README.md, the same codes the public
 * API answers with. On the server, the platform turns a thrown DomainError into a gRPC status
 * through the service's exhaustive `Record<code, grpc.status>` and sends the code in the
 * `koban-error-code` trailing metadata; on the client, an error carrying that metadata is
 * turned back into a DomainError, with the status it arrived with in `status`.
 *
 * It imports nothing from gRPC, so domain code may create it without depending on the transport.
 */
export class DomainError<Code extends string = string> extends Error {
  override readonly name = 'DomainError';
  /** Snake_case domain code, e.g. `insufficient_funds`. */
  readonly code: Code;
  /** JSON-safe facts for the caller, e.g. `{ lockedUntil: '2030-01-01T00:00:00.000Z' }`. */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** The numeric gRPC status it arrived with; set on the client side only. */
  readonly status: number | undefined;

  constructor(
    code: Code,
    message: string,
    details?: Readonly<Record<string, unknown>>,
    options?: { status?: number; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = details;
    this.status = options?.status;
  }
}
