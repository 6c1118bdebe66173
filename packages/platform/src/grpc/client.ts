import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { defaultChannelOptions } from './channel-options.js';
import { DomainError } from './domain-error.js';
import { GrpcCallError, fromServiceError } from './grpc-errors.js';
import { currentRequestContext } from './request-context.js';

/**
 * The resilience policy a client runs its calls through (timeout → retry → breaker → bulkhead,
 * built by the resilience module once per downstream). Structural, so this module does not
 * depend on the resilience module.
 *
 * The contract with the client: `fn` REJECTS only for failures of the dependency (UNAVAILABLE,
 * INTERNAL, DEADLINE_EXCEEDED on the client's own timeout, a cancellation through the policy's
 * signal...) — those are what a breaker counts and a retry may retry. Business outcomes and
 * failures that are not the dependency's fault RESOLVE as a `CallOutcome` with `ok: false`, so
 * the policy counts them as successes and never retries them; the client throws them after the
 * policy returns. `idempotent` tells the policy whether retrying is safe. Aborting the signal an
 * attempt receives cancels its gRPC call.
 *
 * The resilience module's `DependencyPolicy` fits as is; its own `isFailure` (which also lets
 * DomainErrors through uncounted) then never sees a business outcome, since they resolve.
 */
export interface CallPolicy {
  execute<T>(
    fn: (context: { signal: AbortSignal }) => Promise<T>,
    options: { idempotent: boolean },
  ): Promise<T>;
}

/**
 * What one attempt resolves with. `ok: false` holds an error that must not count against the
 * dependency: a DomainError (a business outcome), or a GrpcCallError for a deadline that was
 * the caller's propagated budget rather than this client's timeout, for a call refused because
 * no budget was left, or for a cancellation by the caller's own signal.
 */
export type CallOutcome<T> = { ok: true; value: T } | { ok: false; error: DomainError | GrpcCallError };

/** Per-call options of a client method. */
export interface UnaryCallOptions {
  /** Overrides the client's `timeoutMs` for this call. */
  timeoutMs?: number | undefined;
  /** Overrides the method's `idempotency_level` from the proto. */
  idempotent?: boolean | undefined;
  /** Extra request metadata. */
  metadata?: grpc.Metadata | undefined;
  /** The caller's own cancellation (e.g. the HTTP request went away). */
  signal?: AbortSignal | undefined;
}

/** Options of `createGrpcClient`. */
export interface GrpcClientOptions {
  /** Deadline of every call unless the call says otherwise, before budget propagation. */
  timeoutMs: number;
  /** The downstream's resilience policy; calls go straight out without one. */
  policy?: CallPolicy | undefined;
  /** Insecure by default (in-cluster traffic). */
  credentials?: grpc.ChannelCredentials | undefined;
  /** Merged over `defaultChannelOptions` (keepalive, message size, reconnect backoff). */
  channelOptions?: grpc.ChannelOptions | undefined;
}

/** A generated client constructor, e.g. `loadProtos().koban.ledger.v1.LedgerService`. */
export interface ServiceClientConstructor<Definition> {
  new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions): grpc.Client;
  service: Definition;
}

/**
 * Promise-returning unary methods named like the RPCs in lower camel case
 * (`Transfer` → `transfer`), taking the request and optional call options and resolving with
 * the decoded response; plus `close()`.
 */
export type GrpcClient<Definition> = {
  [
    Method in keyof Definition as string extends Method ? never : Uncapitalize<Method & string>
  ]: Definition[Method] extends MethodDefinition<
    infer RequestIn,
    // never and unknown match any type in the positions that are not inferred.
    never,
    unknown,
    infer ResponseOut
  >
    ? (request: RequestIn, options?: UnaryCallOptions) => Promise<ResponseOut>
    : never;
} & {
  /** Closes the channel; calls made afterwards fail. */
  close(): void;
};

function isIdempotentInProto(method: unknown): boolean {
  const level = (method as { options?: { idempotency_level?: unknown } }).options?.idempotency_level;
  return level === 'IDEMPOTENT' || level === 'NO_SIDE_EFFECTS';
}

function isServiceError(error: unknown): error is grpc.ServiceError {
  return error instanceof Error && typeof (error as Partial<grpc.ServiceError>).code === 'number';
}

function invoke(
  client: grpc.Client,
  method: grpc.MethodDefinition<unknown, unknown>,
  request: unknown,
  metadata: grpc.Metadata,
  deadline: number,
  signal: AbortSignal,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new GrpcCallError(grpc.status.CANCELLED, method.path, 'cancelled before it started'));
      return;
    }
    const onAbort = () => call.cancel();
    const call = client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      metadata,
      { deadline },
      (error, response) => {
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(response);
      },
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A client for one downstream service with promise-returning unary methods. Each call:
 * - gets the deadline min(its timeout, the remaining deadline of the request being handled —
 *   from the request context), and fails at once with DEADLINE_EXCEEDED when no budget is left;
 * - carries the request id of the current request as `x-request-id`;
 * - runs through `policy` (see `CallPolicy` for which failures reach it), and is cancelled when
 *   the policy's signal aborts;
 * - rejects with a DomainError when the server answered a business outcome
 *   (`koban-error-code`), otherwise with a GrpcCallError carrying the status.
 *
 * Methods are idempotent (retry-safe) when the proto says `idempotency_level = IDEMPOTENT` or
 * `NO_SIDE_EFFECTS`; a call may override it.
 */
export function createGrpcClient<Definition extends grpc.ServiceDefinition>(
  Client: ServiceClientConstructor<Definition>,
  address: string,
  options: GrpcClientOptions,
): GrpcClient<Definition> {
  const client = new Client(address, options.credentials ?? grpc.credentials.createInsecure(), {
    ...defaultChannelOptions,
    ...options.channelOptions,
  });

  function callMethod(method: grpc.MethodDefinition<unknown, unknown>) {
    const idempotentInProto = isIdempotentInProto(method);

    const attempt = async (
      request: unknown,
      callOptions: UnaryCallOptions,
      policySignal: AbortSignal,
    ): Promise<CallOutcome<unknown>> => {
      const now = Date.now();
      const ownDeadline = now + (callOptions.timeoutMs ?? options.timeoutMs);
      const context = currentRequestContext();
      const budgetBound = context?.deadline !== undefined && context.deadline < ownDeadline;
      const deadline = budgetBound && context?.deadline !== undefined ? context.deadline : ownDeadline;
      if (deadline <= now) {
        return {
          ok: false,
          error: new GrpcCallError(
            grpc.status.DEADLINE_EXCEEDED,
            method.path,
            'no time left in the request budget',
          ),
        };
      }
      const metadata = callOptions.metadata?.clone() ?? new grpc.Metadata();
      if (context?.requestId !== undefined && metadata.get('x-request-id').length === 0) {
        metadata.set('x-request-id', context.requestId);
      }
      const signal = callOptions.signal ? AbortSignal.any([policySignal, callOptions.signal]) : policySignal;
      try {
        return { ok: true, value: await invoke(client, method, request, metadata, deadline, signal) };
      } catch (error) {
        const failure = isServiceError(error)
          ? fromServiceError(error, method.path)
          : error instanceof GrpcCallError
            ? error
            : new GrpcCallError(grpc.status.UNKNOWN, method.path, String(error), undefined, { cause: error });
        if (failure instanceof DomainError) return { ok: false, error: failure };
        // Running out of the caller's budget, or the caller giving up, says nothing about the
        // health of the dependency: it must not open its breaker nor be retried.
        if (failure.code === grpc.status.DEADLINE_EXCEEDED && budgetBound)
          return { ok: false, error: failure };
        if (failure.code === grpc.status.CANCELLED && callOptions.signal?.aborted)
          return { ok: false, error: failure };
        throw failure;
      }
    };

    return async (request: unknown, callOptions: UnaryCallOptions = {}): Promise<unknown> => {
      const context = currentRequestContext();
      if (context?.deadline !== undefined && context.deadline <= Date.now()) {
        throw new GrpcCallError(
          grpc.status.DEADLINE_EXCEEDED,
          method.path,
          'no time left in the request budget',
        );
      }
      const idempotent = callOptions.idempotent ?? idempotentInProto;
      const outcome = options.policy
        ? await options.policy.execute(({ signal }) => attempt(request, callOptions, signal), { idempotent })
        : // A signal per call: one shared never-aborted signal would collect a listener per call.
          await attempt(request, callOptions, new AbortController().signal);
      if (outcome.ok) return outcome.value;
      throw outcome.error;
    };
  }

  const methods: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(Client.service)) {
    methods[name.charAt(0).toLowerCase() + name.slice(1)] = callMethod(
      method as grpc.MethodDefinition<unknown, unknown>,
    );
  }
  return {
    ...methods,
    close: () => client.close(),
  } as GrpcClient<Definition>;
}
