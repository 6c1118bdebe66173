import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { isDatabaseUnavailableError } from '../db/sql-access.js';
import type { Logger } from '../logging/index.js';
import { DomainError } from './domain-error.js';
import type { FaultInjector, FaultSpec } from './fault-injection.js';
import { GrpcCallError, GrpcStatusError, domainErrorMetadata, statusName } from './grpc-errors.js';
import { runWithRequestContext } from './request-context.js';
import type { RpcServerMetrics } from './server-metrics.js';

/**
 * A unary RPC implementation: resolve with the response, throw a DomainError for a business
 * outcome, throw a GrpcStatusError for a deliberate status. An unreachable database (including its
 * open breaker) becomes `UNAVAILABLE`; anything else is a bug or an infrastructure failure and
 * becomes `INTERNAL`.
 */
export type UnaryHandler<Request, Response> = (
  request: Request,
  call: grpc.ServerUnaryCall<Request, Response>,
) => Promise<Response> | Response;

/** What the wrapper needs to know about the RPC and the service serving it. */
export interface UnaryHandlerSettings {
  /** The Koban service name (`payment`), as fault injection and logs know it. */
  serviceName: string;
  /** The RPC name (`CreatePayment`). */
  rpcName: string;
  /** The full path (`/koban.payment.v1.PaymentService/CreatePayment`). */
  path: string;
  logger: Logger;
  /** The service's exhaustive map of its domain error codes to gRPC statuses. */
  domainErrorStatus: Readonly<Record<string, grpc.status>>;
  /** Omitted for the control plane (health, ops), which is never faulted. */
  faultInjector?: FaultInjector | undefined;
  /** Source of randomness for fault error rates; tests pin it. */
  random: () => number;
  /** Where each call's duration and status go; the server always passes it. */
  callMetrics?: RpcServerMetrics | undefined;
}

// Statuses of a downstream failure that are passed on rather than hidden behind INTERNAL: they
// tell the caller the truth it acts on (retry later / the budget is spent), and reveal nothing.
const passedThroughDownstreamStatuses: ReadonlySet<grpc.status> = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
]);

function epochMillis(deadline: grpc.Deadline): number | undefined {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? ms : undefined;
}

function serverError(code: grpc.status, details: string, metadata?: grpc.Metadata): grpc.ServerErrorResponse {
  return Object.assign(new Error(details), { code, details, ...(metadata ? { metadata } : {}) });
}

function traceFields(): { trace_id?: string; span_id?: string } {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
}

// A type guard rather than a bare instanceof, which would narrow to DomainError<any>.
const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;

/**
 * The status a handler's failure is answered with. Logs the failure when it is not an expected
 * outcome: this is where it is handled, so this is the one place it is logged.
 */
export function toServerError(error: unknown, settings: UnaryHandlerSettings): grpc.ServerErrorResponse {
  const { logger, path } = settings;
  if (isDomainError(error)) {
    const status = Object.hasOwn(settings.domainErrorStatus, error.code)
      ? settings.domainErrorStatus[error.code]
      : undefined;
    if (status !== undefined) return serverError(status, error.message, domainErrorMetadata(error));
    logger.error(
      { err: error, rpc: path, code: error.code, ...traceFields() },
      'domain error code without a gRPC status mapping',
    );
    return serverError(grpc.status.INTERNAL, 'internal error');
  }
  if (error instanceof GrpcStatusError) return serverError(error.code, error.message);
  if (error instanceof GrpcCallError && passedThroughDownstreamStatuses.has(error.code)) {
    logger.warn(
      { err: error, rpc: path, downstream: error.method, status: statusName(error.code), ...traceFields() },
      'downstream call failed',
    );
    const details =
      error.code === grpc.status.UNAVAILABLE ? 'a dependency is unavailable' : 'deadline exceeded downstream';
    return serverError(error.code, details);
  }
  if (isDatabaseUnavailableError(error)) {
    // The service's own database is down or its breaker open: retry later, like a downstream
    // that is unavailable, so callers' breakers and fallbacks act; not a bug.
    logger.warn({ err: error, rpc: path, ...traceFields() }, 'the database is unavailable');
    return serverError(grpc.status.UNAVAILABLE, 'a dependency is unavailable');
  }
  logger.error({ err: error, rpc: path, ...traceFields() }, 'unhandled error in gRPC handler');
  return serverError(grpc.status.INTERNAL, 'internal error');
}

/** Waits out an injected latency; resolves false early if the caller cancels meanwhile. */
async function waitUnlessCancelled(
  ms: number,
  call: grpc.ServerUnaryCall<unknown, unknown>,
): Promise<boolean> {
  if (call.cancelled) return false;
  const cancelled = new AbortController();
  const onCancel = () => cancelled.abort();
  call.once('cancelled', onCancel);
  try {
    await delay(ms, undefined, { signal: cancelled.signal });
    return true;
  } catch {
    return false;
  } finally {
    call.off('cancelled', onCancel);
  }
}

/** Delays and/or fails the call as the fault says; false when the caller went away meanwhile. */
async function applyFault(
  fault: FaultSpec,
  call: grpc.ServerUnaryCall<unknown, unknown>,
  settings: UnaryHandlerSettings,
): Promise<boolean> {
  if (fault.latencyMs !== undefined && fault.latencyMs > 0) {
    if (!(await waitUnlessCancelled(fault.latencyMs, call))) return false;
  }
  if (fault.errorRate !== undefined && fault.errorRate > 0 && settings.random() < fault.errorRate) {
    throw new GrpcStatusError(
      fault.code ?? grpc.status.UNAVAILABLE,
      `fault injected into ${settings.rpcName}`,
    );
  }
  return true;
}

/**
 * Adapts a promise-returning handler to grpc-js: runs it inside a request context holding the
 * call's deadline and request id, applies injected faults first, and maps failures to statuses
 * with `toServerError`.
 */
export function wrapUnaryHandler<Request, Response>(
  handler: UnaryHandler<Request, Response>,
  settings: UnaryHandlerSettings,
): grpc.handleUnaryCall<Request, Response> {
  return (call, callback) => {
    const startedAt = performance.now();
    const recordCall = (code: grpc.status): void =>
      settings.callMetrics?.recordCall(settings.path, code, (performance.now() - startedAt) / 1000);
    const [requestId] = call.metadata.get('x-request-id');
    const context = {
      deadline: epochMillis(call.getDeadline()),
      requestId: typeof requestId === 'string' ? requestId : undefined,
    };
    void runWithRequestContext(context, async () => {
      let response: Response;
      try {
        const fault = settings.faultInjector?.faultFor(settings.serviceName, settings.rpcName);
        if (fault !== undefined && !(await applyFault(fault, call, settings))) {
          recordCall(grpc.status.CANCELLED);
          return;
        }
        response = await handler(call.request, call);
      } catch (error) {
        const answer = toServerError(error, settings);
        recordCall(answer.code ?? grpc.status.UNKNOWN);
        callback(answer);
        return;
      }
      recordCall(grpc.status.OK);
      // Outside the try: a failure to send is grpc-js's to report, and must not answer twice.
      callback(null, response);
    });
  };
}
