import {
  defaultRetrySettings,
  type BreakerSettings,
  type BulkheadSettings,
  type DependencyPolicyOptions,
  type RetrySettings,
} from './dependency-policy.js';

/**
 * A dependency's options without the caller, which is the service that builds the policy, and
 * what the hop is and does when it fails — the row of the README's resilience table.
 */
export type DependencyPreset = Readonly<
  Omit<DependencyPolicyOptions, 'caller' | 'isFailure'> & {
    /** `caller → callee` as the README's table names the hop (`any` for shared stores). */
    hop: string;
    /** What the caller does when the call fails, times out or the breaker is open. */
    fallback: string;
  }
>;

/**
 * Every hop's policy: the resilience matrix of ARCHITECTURE.md ("Resilience: every hop") and the
 * hops this implementation adds, so services do not repeat the numbers and the README's table
 * (`pnpm resilience:table`) is generated from them. Timeouts are per attempt. Hops whose budget
 * is tight and whose fallback is cheap (fraud, balance, Redis) and hops whose fallback is a later
 * retry (campaign-promo, Kafka: the relay's next round) do not retry inline; card checks are never
 * retried (a retried check would count a wrong CVC twice). payment→campaign-promo and
 * payment→bank-integration, slow by nature, get a bulkhead so they cannot take all of payment's
 * concurrency. Breakers use the default rule ({@link defaultBreakerSettings}) everywhere. Override
 * from config with {@link presetOptions}.
 */
export const dependencyPresets = {
  gatewayToPayment: {
    hop: 'gateway → payment',
    callee: 'payment',
    timeoutMs: 4_500,
    retry: false,
    fallback: '`503` with `Retry-After`, fast; clients retry with their idempotency key',
  },
  gatewayToLedger: {
    hop: 'gateway → ledger (balance)',
    callee: 'ledger',
    timeoutMs: 300,
    retry: false,
    fallback: 'the cached balance from Redis with `stale: true` and `asOf`',
  },
  /**
   * The gateway's other ledger calls (opening accounts at sign-up, operator credits, statements)
   * have no cached answer: their own breaker and a budget of a write, so a burst of sign-ups does
   * not trip the balance breaker and a slow balance read does not refuse sign-ups.
   */
  gatewayToLedgerAccounts: {
    hop: 'gateway → ledger (accounts, credits, statements)',
    callee: 'ledger-accounts',
    timeoutMs: 1_000,
    retry: false,
    fallback:
      '`503` with `Retry-After`; sign-up and credits are retried by the client (credits with their key)',
  },
  gatewayToBankIntegration: {
    hop: 'gateway → bank-integration',
    callee: 'bank-integration',
    timeoutMs: 3_000,
    retry: false,
    fallback: '`503` with `Retry-After` (card and bank-account registration)',
  },
  gatewayToCampaignPromo: {
    hop: 'gateway → campaign-promo',
    callee: 'campaign-promo',
    timeoutMs: 2_000,
    retry: false,
    fallback: '`503` with `Retry-After` (campaign admin)',
  },
  paymentToFraud: {
    hop: 'payment → fraud',
    callee: 'fraud',
    timeoutMs: 300,
    retry: false,
    fallback: 'rules-only local decision: allow up to a configured amount, decline above',
  },
  paymentToLedger: {
    hop: 'payment → ledger',
    callee: 'ledger',
    timeoutMs: 1_000,
    retry: { maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 200 },
    fallback:
      '`503`; the payment stays PENDING and is driven on with the same transfer id (never moves twice)',
  },
  paymentToBankIntegration: {
    hop: 'payment → bank-integration',
    callee: 'bank-integration',
    timeoutMs: 3_000,
    retry: { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 500 },
    bulkhead: { limit: 32, queue: 64 },
    fallback: 'top-up answers `PROCESSING`; a retrier finishes it after recovery (same charge id)',
  },
  paymentToCampaignPromo: {
    hop: 'payment → campaign-promo',
    callee: 'campaign-promo',
    timeoutMs: 2_000,
    retry: false,
    bulkhead: { limit: 32, queue: 64 },
    fallback: 'cashback `PENDING`; a `CashbackDeferred` event makes the retry queue grant it once',
  },
  bankIntegrationToFraud: {
    hop: 'bank-integration → fraud',
    callee: 'fraud',
    timeoutMs: 300,
    retry: false,
    fallback: 'card checks refused with `503` (the lockout state is unknown, so no card is checked)',
  },
  bankIntegrationToBank: {
    hop: 'bank-integration → bank',
    callee: 'bank',
    timeoutMs: 2_000,
    retry: false,
    fallback: "the debit answers PENDING and is settled by payment's retrier (same charge id)",
  },
  bankIntegrationToIssuer: {
    hop: 'bank-integration → issuer',
    callee: 'issuer',
    timeoutMs: 2_000,
    retry: false,
    fallback: 'card checks `503`; card charges PENDING, settled later (same charge id)',
  },
  campaignPromoToLedger: {
    hop: 'campaign-promo → ledger',
    callee: 'ledger',
    timeoutMs: 1_000,
    retry: { maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 200 },
    fallback:
      'the grant or clawback is recorded first and its transfer re-sent with the same id until applied',
  },
  redis: {
    hop: 'any → Redis',
    callee: 'redis',
    timeoutMs: 100,
    retry: false,
    fallback: 'the durable TiDB path (idempotency keys, lockouts, budgets, tokens); caches are skipped',
  },
  kafka: {
    hop: 'any → Kafka (outbox relay)',
    callee: 'kafka',
    // Per publish batch, and a third of the relay's default 30 s claim: a stuck batch is given up
    // (and its rows released) well before another relay may take them over.
    timeoutMs: 10_000,
    retry: false,
    fallback:
      'rows wait in the outbox (nothing is lost); the relay backs off and claims nothing while the breaker is open, then drains',
  },
  /**
   * Every pool query and every transaction (its conflict retries included) of a service's own
   * database. Only unreachable-database errors count (built with `createDatabasePolicy`): a
   * duplicate key is an answer, and deadlocks are retried by the transaction itself. The timeout
   * is far above any statement's normal time, so only a hung database reaches it; a transaction
   * it cuts short has its connection destroyed (the server rolls it back), never pooled again.
   */
  tidb: {
    hop: 'any → TiDB',
    callee: 'tidb',
    timeoutMs: 15_000,
    retry: false,
    fallback:
      'calls fail at once as unavailable (gRPC `UNAVAILABLE`, HTTP `503`), so callers fall back or retry with their ids; the ledger answers balances from its cache (`stale: true`)',
  },
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
