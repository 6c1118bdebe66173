import {
  defaultRetrySettings,
  type BreakerSettings,
  type BulkheadSettings,
  type DependencyPolicyOptions,
  type RetrySettings,
} from './dependency-policy.js';

/** A dependency's options without the caller, which is the service that builds the policy. */
export type DependencyPreset = Readonly<Omit<DependencyPolicyOptions, 'caller' | 'isFailure'>>;

/**
 * The resilience matrix of ARCHITECTURE.md ("Resilience: every hop") as policy options, so
 * services do not repeat its numbers. Timeouts are per attempt. Hops whose budget is tight and
 * whose fallback is cheap (fraud, balance, Redis) and hops whose fallback is a later retry
 * (campaign-promo) do not retry inline; payment→campaign-promo and payment→bank-integration,
 * slow by nature, get a bulkhead so they cannot take all of payment's concurrency. Breakers use
 * the default rule everywhere. Override from config with {@link presetOptions}.
 */
export const dependencyPresets = {
  /** 4.5 s; fallback: `503` with `Retry-After`. Clients retry with their idempotency key. */
  gatewayToPayment: { callee: 'payment', timeoutMs: 4_500, retry: false },
  /** 300 ms; fallback: cached balance from Redis, `stale: true`. */
  gatewayToLedger: { callee: 'ledger', timeoutMs: 300, retry: false },
  /** 300 ms; fallback: rules-only local decision. */
  paymentToFraud: { callee: 'fraud', timeoutMs: 300, retry: false },
  /** 1 s; fallback: `503`. Transfers are idempotent by transfer id, so they may be retried. */
  paymentToLedger: {
    callee: 'ledger',
    timeoutMs: 1_000,
    retry: { maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 200 },
  },
  /** 3 s; fallback: top-up answers `PROCESSING`, finished by a retrier after recovery. */
  paymentToBankIntegration: {
    callee: 'bank-integration',
    timeoutMs: 3_000,
    retry: { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 500 },
    bulkhead: { limit: 32, queue: 64 },
  },
  /** 2 s; fallback: cashback `PENDING`, granted later by the retry queue. */
  paymentToCampaignPromo: {
    callee: 'campaign-promo',
    timeoutMs: 2_000,
    retry: false,
    bulkhead: { limit: 32, queue: 64 },
  },
  /** Any service → Redis, 100 ms; fallback: the durable TiDB path. */
  redis: { callee: 'redis', timeoutMs: 100, retry: false },
} as const satisfies Record<string, DependencyPreset>;

/** Some fields of `T`, where `undefined` means "keep the current value". */
export type FieldOverrides<T> = { [K in keyof T]?: T[K] | undefined };

/**
 * Config overrides of a preset. `undefined` fields keep the preset's value, so optional config
 * entries can be passed as they are parsed.
 */
export interface DependencyOverrides {
  timeoutMs?: number | undefined;
  /** `false` disables retries; an object overrides the given fields. */
  retry?: FieldOverrides<RetrySettings> | false | undefined;
  breaker?: FieldOverrides<BreakerSettings> | undefined;
  /** `false` removes the bulkhead; an object replaces it. */
  bulkhead?: BulkheadSettings | false | undefined;
  isFailure?: ((err: unknown) => boolean) | undefined;
}

/**
 * Options for {@link createDependencyPolicy} from a preset, the calling service and config
 * overrides:
 *
 * ```ts
 * const ledger = createDependencyPolicy(
 *   presetOptions(dependencyPresets.paymentToLedger, 'payment', { timeoutMs: config.LEDGER_TIMEOUT_MS }),
 *   { logger },
 * );
 * ```
 */
export function presetOptions(
  preset: DependencyPreset,
  caller: string,
  overrides: DependencyOverrides = {},
): DependencyPolicyOptions {
  const options: DependencyPolicyOptions = {
    caller,
    callee: preset.callee,
    timeoutMs: overrides.timeoutMs ?? preset.timeoutMs,
  };

  const retry = mergeRetry(preset.retry, overrides.retry);
  if (retry !== undefined) {
    options.retry = retry;
  }
  const breaker = { ...preset.breaker, ...definedFields(overrides.breaker ?? {}) };
  if (Object.keys(breaker).length > 0) {
    options.breaker = breaker;
  }
  const bulkhead = overrides.bulkhead === undefined ? preset.bulkhead : overrides.bulkhead;
  if (bulkhead) {
    options.bulkhead = { ...bulkhead };
  }
  if (overrides.isFailure !== undefined) {
    options.isFailure = overrides.isFailure;
  }
  return options;
}

function mergeRetry(
  preset: RetrySettings | false | undefined,
  override: FieldOverrides<RetrySettings> | false | undefined,
): RetrySettings | false | undefined {
  if (override === undefined) {
    return preset === false || preset === undefined ? preset : { ...preset };
  }
  if (override === false) {
    return false;
  }
  // Overriding a field of a preset without retries turns them on from the defaults.
  const base = preset === false || preset === undefined ? defaultRetrySettings : preset;
  return { ...base, ...definedFields(override) };
}

function definedFields<T extends object>(value: FieldOverrides<T>): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}
