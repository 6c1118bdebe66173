import {
  ROOT_CONTEXT,
  context,
  metrics,
  trace,
  type Meter,
  type ObservableCallback,
} from '@opentelemetry/api';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  bulkhead,
  circuitBreaker,
  decorrelatedJitterGenerator,
  fallback,
  handleWhen,
  retry,
  timeout,
  wrap,
  type IDefaultPolicyContext,
  type IPolicy,
} from 'cockatiel';
import type { Logger } from 'pino';
import {
  registerBreaker,
  unregisterBreaker,
  type BreakerSnapshot,
  type BreakerState,
  type RegisteredBreaker,
} from './breaker-registry.js';
import { ConsecutiveOrRateBreaker } from './breaker-rule.js';
import { resilienceInstruments } from './resilience-metrics.js';

/** Retries of idempotent calls. */
export interface RetrySettings {
  /** Attempts in total, the first one included (1 means no retry). Not cockatiel's `maxAttempts`, which counts retries only. */
  maxAttempts: number;
  /** Scale of the first backoff delay; delays grow exponentially with decorrelated jitter. */
  initialDelayMs: number;
  /** Upper bound of any single backoff delay. */
  maxDelayMs: number;
}

/** The breaker rule; every field defaults to ARCHITECTURE.md's breaker defaults. */
export interface BreakerSettings {
  /** Consecutive failures that open the breaker. Default 5. */
  consecutiveFailures: number;
  /** Failed fraction of the window's calls at or above which the breaker opens. Default 0.5. */
  failureRateThreshold: number;
  /** Length of the failure-rate window. Default 10 000 ms. */
  windowMs: number;
  /** Calls the window must hold before the rate can open the breaker. Default 5. */
  minimumCalls: number;
  /** Time after opening before a trial call is let through. Default 5 000 ms. */
  halfOpenAfterMs: number;
}

/** Concurrency limit for a dependency that can exhaust the caller's concurrency. */
export interface BulkheadSettings {
  /** Calls in flight at once. */
  limit: number;
  /** Calls waiting for a slot; beyond that a call is refused at once. */
  queue: number;
}

/** How to call one downstream dependency. */
export interface DependencyPolicyOptions {
  /** The calling service, e.g. `payment`. */
  caller: string;
  /** The dependency, e.g. `ledger` or `redis`. */
  callee: string;
  /** Timeout of each attempt; the attempt's signal is aborted when it expires. */
  timeoutMs: number;
  /** Retries of idempotent calls; `false` never retries. Default {@link defaultRetrySettings}. */
  retry?: RetrySettings | false;
  /** Overrides of the breaker rule's defaults. */
  breaker?: Partial<BreakerSettings>;
  /** Concurrency limit; none by default. */
  bulkhead?: BulkheadSettings;
  /**
   * Whether an error is a failure of the dependency. An error for which this returns `false`
   * (a business outcome) is passed through untouched: not counted by the breaker, not retried,
   * not replaced by a fallback. Timeouts are failures whatever this says.
   * Default {@link defaultIsFailure}.
   */
  isFailure?: (err: unknown) => boolean;
}

/** What a dependency policy needs from the service. */
export interface DependencyPolicyDeps {
  logger: Logger;
  /**
   * Where the metrics go. Default `metrics.getMeter('koban-resilience')`, read when the policy
   * is built, so build policies after telemetry has started (it is a no-op without an SDK).
   */
  meter?: Meter;
}

/** What an attempt receives. */
export interface CallContext {
  /**
   * Aborted when the attempt times out, and also once the attempt has settled: pass it to the
   * outbound call, and consume everything the call returns before resolving.
   */
  signal: AbortSignal;
}

/** Per-call options. */
export interface ExecuteOptions {
  /** Whether the call may be repeated safely; only idempotent calls are retried. */
  idempotent: boolean;
}

/** Why a call did not get an answer from the dependency. */
export type FailureKind = 'open' | 'timeout' | 'bulkhead_full' | 'failure';

/**
 * The resilience policy of one caller→callee dependency. Build it once in `main.ts` and share it
 * by every call to that dependency: the breaker only works if it sees all of them.
 */
export interface DependencyPolicy {
  /** `"<caller>→<callee>"`. */
  readonly name: string;
  /**
   * Runs `fn` through the bulkhead (if configured), retries (idempotent calls only), the circuit
   * breaker and the per-attempt timeout. Rejects with cockatiel's `BrokenCircuitError` at once,
   * without calling `fn`, while the breaker is open; with `TaskCancelledError` when an attempt
   * times out; with `BulkheadRejectedError` when the bulkhead and its queue are full; otherwise
   * with `fn`'s own error. {@link failureKind} tells these apart.
   */
  execute<T>(fn: (ctx: CallContext) => Promise<T>, options: ExecuteOptions): Promise<T>;
  /**
   * Like {@link DependencyPolicy.execute}, but when the call fails (breaker open, timeout,
   * bulkhead full, or an error `isFailure` accepts) answers with `onFailure(reason)` instead.
   * Business outcomes are still thrown. Callers use it for the fallbacks of the resilience
   * matrix (cached balance, rules-only fraud decision, cashback `PENDING`, …). Not idempotent
   * unless `options` says so.
   */
  withFallback<T>(
    fn: (ctx: CallContext) => Promise<T>,
    onFailure: (reason: unknown) => Promise<T> | T,
    options?: ExecuteOptions,
  ): Promise<T>;
  /** The breaker's state and counters. */
  snapshot(): BreakerSnapshot;
  /** Stops reporting: leaves the registry and the state gauge, cancels the half-open timer. */
  dispose(): void;
}

/** ARCHITECTURE.md's breaker defaults. */
export const defaultBreakerSettings: Readonly<BreakerSettings> = Object.freeze({
  consecutiveFailures: 5,
  failureRateThreshold: 0.5,
  windowMs: 10_000,
  minimumCalls: 5,
  halfOpenAfterMs: 5_000,
});

/** Retries used when a policy's options do not say: three attempts, short jittered delays. */
export const defaultRetrySettings: Readonly<RetrySettings> = Object.freeze({
  maxAttempts: 3,
  initialDelayMs: 50,
  maxDelayMs: 500,
});

const SNAKE_CASE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** Whether `err` is a business outcome: `name === 'DomainError'` and a snake_case string `code`. */
export function isDomainError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) {
    return false;
  }
  const { name, code } = err as { name?: unknown; code?: unknown };
  return name === 'DomainError' && typeof code === 'string' && SNAKE_CASE.test(code);
}

/** The default `isFailure`: everything except a {@link isDomainError business outcome}. */
export function defaultIsFailure(err: unknown): boolean {
  return !isDomainError(err);
}

// cockatiel 3.2.1's own `isTaskCancelledError` and `isIsolatedCircuitError` test for the
// bulkhead's marker property (a bulkhead refusal passes for a timeout, a timeout does not), so
// the platform checks the classes of its single cockatiel copy instead.
const isBrokenCircuitError = (err: unknown): err is BrokenCircuitError => err instanceof BrokenCircuitError;
const isTaskCancelledError = (err: unknown): err is TaskCancelledError => err instanceof TaskCancelledError;
const isBulkheadRejectedError = (err: unknown): err is BulkheadRejectedError =>
  err instanceof BulkheadRejectedError;

/** Why a policy refused or gave up on a call, from the error it threw. */
export function failureKind(err: unknown): FailureKind {
  if (isBrokenCircuitError(err)) {
    return 'open';
  }
  if (isTaskCancelledError(err)) {
    return 'timeout';
  }
  if (isBulkheadRejectedError(err)) {
    return 'bulkhead_full';
  }
  return 'failure';
}

const gaugeValue: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * Builds the policy of one dependency. The nesting, outermost first:
 *
 * 1. bulkhead (if configured) — a call queued or refused here never reaches the breaker, and
 *    retries of a call keep its slot instead of queueing again;
 * 2. retry — idempotent calls only, decorrelated-jitter exponential backoff, bounded by
 *    `maxAttempts` and `maxDelayMs`; retries only errors the breaker counts as failures, never
 *    a `BrokenCircuitError`, and never once the breaker has opened (even if this very attempt
 *    opened it: the attempt's own error is thrown rather than waiting to be refused);
 * 3. circuit breaker — every attempt passes through it, so it sees each try as one call;
 * 4. timeout — per attempt, aggressive: the attempt's signal is aborted and the attempt rejects
 *    at the deadline, and the breaker counts that as a failure.
 *
 * The policy registers itself in the process-wide breaker registry ({@link listBreakers}).
 */
export function createDependencyPolicy(
  options: DependencyPolicyOptions,
  deps: DependencyPolicyDeps,
): DependencyPolicy {
  const { caller, callee } = options;
  const name = `${caller}→${callee}`;
  const breakerSettings: BreakerSettings = { ...defaultBreakerSettings, ...options.breaker };
  const retrySettings = options.retry === false ? false : (options.retry ?? defaultRetrySettings);
  validate(name, options.timeoutMs, breakerSettings, retrySettings, options.bulkhead);

  const isFailure = options.isFailure ?? defaultIsFailure;
  const log = deps.logger.child({ component: 'resilience', breaker: name });
  const instruments = resilienceInstruments(deps.meter ?? metrics.getMeter('koban-resilience'));
  const attributes = { caller, callee };

  // Timeouts are failures of the dependency whatever the caller's predicate says.
  const countsAsFailure = (err: unknown): boolean => isTaskCancelledError(err) || isFailure(err);

  const rule = new ConsecutiveOrRateBreaker({
    consecutiveFailures: breakerSettings.consecutiveFailures,
    threshold: breakerSettings.failureRateThreshold,
    windowMs: breakerSettings.windowMs,
    minimumCalls: breakerSettings.minimumCalls,
  });
  const breakerPolicy = circuitBreaker(handleWhen(countsAsFailure), {
    breaker: rule,
    halfOpenAfter: breakerSettings.halfOpenAfterMs,
  });
  const timeoutPolicy = timeout(options.timeoutMs, TimeoutStrategy.Aggressive);
  const bulkheadPolicy = options.bulkhead
    ? bulkhead(options.bulkhead.limit, options.bulkhead.queue)
    : undefined;

  const isOpen = (): boolean =>
    breakerPolicy.state === CircuitState.Open || breakerPolicy.state === CircuitState.Isolated;
  const retryPolicy =
    retrySettings === false || retrySettings.maxAttempts <= 1
      ? undefined
      : retry(
          handleWhen((err) => !isBrokenCircuitError(err) && !isOpen() && countsAsFailure(err)),
          {
            maxAttempts: retrySettings.maxAttempts - 1,
            backoff: new ExponentialBackoff({
              generator: decorrelatedJitterGenerator,
              initialDelay: retrySettings.initialDelayMs,
              maxDelay: retrySettings.maxDelayMs,
            }),
          },
        );

  // The same breaker, timeout and bulkhead instances in both chains: the breaker and the
  // bulkhead must count every call to the dependency, idempotent or not.
  const outer: Array<IPolicy<IDefaultPolicyContext, never>> = bulkheadPolicy ? [bulkheadPolicy] : [];
  const once = wrap(...outer, breakerPolicy, timeoutPolicy);
  const retried = retryPolicy ? wrap(...outer, retryPolicy, breakerPolicy, timeoutPolicy) : once;

  let state: BreakerState = 'closed';
  let lastTransitionAt: number | null = null;
  let halfOpenTimer: NodeJS.Timeout | undefined;
  const counts = { failures: 0, successes: 0, rejections: 0, trips: 0 };

  const cancelHalfOpenTimer = (): void => {
    if (halfOpenTimer !== undefined) {
      clearTimeout(halfOpenTimer);
      halfOpenTimer = undefined;
    }
  };

  const transition = (to: BreakerState, traceId: string | undefined): void => {
    if (to === state) {
      return;
    }
    const from = state;
    state = to;
    lastTransitionAt = Date.now();
    cancelHalfOpenTimer();
    instruments.transitions.add(1, { ...attributes, to });
    const line = { from, to, trace_id: traceId };
    if (to === 'open') {
      counts.trips++;
      // cockatiel only moves to half-open when the next call arrives; the timer makes the state
      // (gauge, snapshot, log) say half-open once the delay is over, i.e. once the next call
      // would be let through as a trial. The timer's callback would otherwise run in the
      // tripping call's context, so it runs in the root one: the line has no trace to point at.
      halfOpenTimer = setTimeout(
        () => context.with(ROOT_CONTEXT, () => transition('half-open', undefined)),
        breakerSettings.halfOpenAfterMs,
      );
      halfOpenTimer.unref();
      log.warn(
        { ...line, opened_by: from === 'closed' ? rule.lastOpenedBy : 'failed_trial' },
        'circuit breaker opened',
      );
    } else {
      log.info(line, `circuit breaker ${to}`);
    }
  };

  // cockatiel emits these synchronously inside the call that caused them, so the active span is
  // that call's: for "open", the call that tripped the breaker.
  breakerPolicy.onStateChange((next) => {
    const traceId = trace.getActiveSpan()?.spanContext().traceId;
    switch (next) {
      case CircuitState.Closed:
        rule.reset();
        transition('closed', traceId);
        break;
      case CircuitState.HalfOpen:
        transition('half-open', traceId);
        break;
      case CircuitState.Open:
      case CircuitState.Isolated:
        transition('open', traceId);
        break;
    }
  });
  breakerPolicy.onSuccess(() => {
    counts.successes++;
  });
  breakerPolicy.onFailure(({ handled }) => {
    if (handled) {
      counts.failures++;
    }
  });
  timeoutPolicy.onTimeout(() => instruments.timeouts.add(1, attributes));
  retryPolicy?.onRetry(({ attempt, delay }) => {
    instruments.retries.add(1, attributes);
    log.debug({ attempt, delay_ms: Math.round(delay) }, 'retrying after a failed attempt');
  });

  const observeState: ObservableCallback = (result) => result.observe(gaugeValue[state], attributes);
  instruments.breakerState.addCallback(observeState);

  // The signal an attempt gets is the timeout's, and nothing else aborts it before the attempt
  // settles. A call that honours it rejects with its own abort error, and that rejection can win
  // the aggressive timeout's race: it is turned back into the timeout it is, so it counts as a
  // failure and reads as a timeout whatever `isFailure` thinks of the abort error.
  const attempt = async <T>(fn: (ctx: CallContext) => Promise<T>, signal: AbortSignal): Promise<T> => {
    try {
      return await fn({ signal });
    } catch (err) {
      if (signal.aborted && !isTaskCancelledError(err)) {
        throw Object.assign(new TaskCancelledError(`Operation timed out after ${options.timeoutMs}ms`), {
          cause: err,
        });
      }
      throw err;
    }
  };

  const execute = async <T>(
    fn: (ctx: CallContext) => Promise<T>,
    callOptions: ExecuteOptions,
  ): Promise<T> => {
    const chain = callOptions.idempotent ? retried : once;
    try {
      return await chain.execute(({ signal }) => attempt(fn, signal));
    } catch (err) {
      if (isBrokenCircuitError(err)) {
        counts.rejections++;
        instruments.rejections.add(1, attributes);
      }
      throw err;
    }
  };

  const policy: DependencyPolicy & RegisteredBreaker = {
    name,
    execute,
    async withFallback<T>(
      fn: (ctx: CallContext) => Promise<T>,
      onFailure: (reason: unknown) => Promise<T> | T,
      callOptions: ExecuteOptions = { idempotent: false },
    ): Promise<T> {
      let reason: unknown;
      const fallbackPolicy = fallback(
        handleWhen((err) => failureKind(err) !== 'failure' || countsAsFailure(err)),
        () => {
          const kind = failureKind(reason);
          instruments.fallbacks.add(1, { ...attributes, reason: kind });
          log.debug({ reason: kind, err: reason }, 'answering with the fallback');
          return onFailure(reason);
        },
      );
      fallbackPolicy.onFailure((event) => {
        if (event.handled && 'error' in event.reason) {
          reason = event.reason.error;
        }
      });
      return fallbackPolicy.execute(() => execute(fn, callOptions));
    },
    snapshot(): BreakerSnapshot {
      return {
        name,
        caller,
        callee,
        state,
        ...counts,
        lastTransitionAt: lastTransitionAt === null ? null : new Date(lastTransitionAt).toISOString(),
      };
    },
    dispose(): void {
      cancelHalfOpenTimer();
      instruments.breakerState.removeCallback(observeState);
      unregisterBreaker(policy);
    },
  };

  const replaced = registerBreaker(policy);
  if (replaced !== undefined) {
    replaced.dispose();
    log.warn('a policy for this dependency already existed; build one per process and share it');
  }
  return policy;
}

function validate(
  name: string,
  timeoutMs: number,
  breaker: BreakerSettings,
  retrySettings: RetrySettings | false,
  bulkheadSettings: BulkheadSettings | undefined,
): void {
  const check = (ok: boolean, field: string, value: unknown): void => {
    if (!ok) {
      throw new RangeError(`${name}: invalid ${field}: ${String(value)}`);
    }
  };
  const positiveInteger = (n: number): boolean => Number.isInteger(n) && n >= 1;
  check(Number.isFinite(timeoutMs) && timeoutMs > 0, 'timeoutMs', timeoutMs);
  check(
    positiveInteger(breaker.consecutiveFailures),
    'breaker.consecutiveFailures',
    breaker.consecutiveFailures,
  );
  check(
    breaker.failureRateThreshold > 0 && breaker.failureRateThreshold <= 1,
    'breaker.failureRateThreshold',
    breaker.failureRateThreshold,
  );
  check(Number.isFinite(breaker.windowMs) && breaker.windowMs > 0, 'breaker.windowMs', breaker.windowMs);
  check(positiveInteger(breaker.minimumCalls), 'breaker.minimumCalls', breaker.minimumCalls);
  check(
    Number.isFinite(breaker.halfOpenAfterMs) && breaker.halfOpenAfterMs > 0,
    'breaker.halfOpenAfterMs',
    breaker.halfOpenAfterMs,
  );
  if (retrySettings !== false) {
    check(positiveInteger(retrySettings.maxAttempts), 'retry.maxAttempts', retrySettings.maxAttempts);
    check(retrySettings.initialDelayMs >= 0, 'retry.initialDelayMs', retrySettings.initialDelayMs);
    check(
      retrySettings.maxDelayMs >= retrySettings.initialDelayMs,
      'retry.maxDelayMs',
      retrySettings.maxDelayMs,
    );
  }
  if (bulkheadSettings !== undefined) {
    check(positiveInteger(bulkheadSettings.limit), 'bulkhead.limit', bulkheadSettings.limit);
    check(
      Number.isInteger(bulkheadSettings.queue) && bulkheadSettings.queue >= 0,
      'bulkhead.queue',
      bulkheadSettings.queue,
    );
  }
}
