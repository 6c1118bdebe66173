import { CircuitState, ConsecutiveBreaker, type IBreaker } from 'cockatiel';

/** What made a breaker open, for the transition log line. */
export type OpenedBy = 'consecutive_failures' | 'failure_rate';

/** Settings of the failure-rate half of the rule. */
export interface FailureRateSettings {
  /** Fraction of failed calls in the window (0 < x ≤ 1) at or above which the breaker opens. */
  threshold: number;
  /** Length of the sliding window, in milliseconds. */
  windowMs: number;
  /** Calls (successes + failures) the window must hold before the rate can open the breaker. */
  minimumCalls: number;
  /** Monotonic clock in milliseconds; injectable so tests can move time. */
  now?: () => number;
}

/** Settings of the whole breaker rule. */
export interface BreakerRuleSettings extends FailureRateSettings {
  /** Consecutive failures that open the breaker regardless of the rate. */
  consecutiveFailures: number;
}

// The window is kept as buckets so memory stays constant whatever the call rate; the window
// therefore counts the last `windowMs` to within one bucket (a tenth of the window).
const BUCKETS = 10;

interface Bucket {
  /** Absolute bucket number (`floor(now / bucketMs)`), so stale buckets are recognisable. */
  index: number;
  failures: number;
  successes: number;
}

/**
 * Opens when at least `threshold` of the calls of the last `windowMs` failed, once the window
 * holds at least `minimumCalls` calls.
 *
 * cockatiel's `SamplingBreaker` is not used because it does not implement that rule: it opens
 * only *above* the threshold (5 failures of 10 never open it at 0.5), expresses the minimum as
 * a rate (`minimumRps`) rather than a call count, and rotates one sub-window per call, so after
 * an idle period it still counts failures from long before the window (4 failures, an hour of
 * silence, then one failure opens it).
 */
export class FailureRateBreaker implements IBreaker {
  private readonly threshold: number;
  private readonly minimumCalls: number;
  private readonly bucketMs: number;
  private readonly now: () => number;
  private buckets: Bucket[];

  constructor(settings: FailureRateSettings) {
    if (!(settings.threshold > 0 && settings.threshold <= 1)) {
      throw new RangeError(`failure-rate threshold must be in (0, 1], got ${settings.threshold}`);
    }
    if (!(settings.windowMs > 0)) {
      throw new RangeError(`failure-rate windowMs must be positive, got ${settings.windowMs}`);
    }
    if (!Number.isInteger(settings.minimumCalls) || settings.minimumCalls < 1) {
      throw new RangeError(
        `failure-rate minimumCalls must be a positive integer, got ${settings.minimumCalls}`,
      );
    }
    this.threshold = settings.threshold;
    this.minimumCalls = settings.minimumCalls;
    this.bucketMs = settings.windowMs / BUCKETS;
    this.now = settings.now ?? (() => performance.now());
    this.buckets = emptyBuckets();
  }

  /** The window's buckets; cockatiel reads and writes this to serialise a breaker. */
  get state(): unknown {
    return this.buckets.map((bucket) => ({ ...bucket }));
  }

  set state(value: unknown) {
    this.buckets = Array.isArray(value)
      ? (value as Bucket[]).map((bucket) => ({ ...bucket }))
      : emptyBuckets();
  }

  /** Records a successful call; a successful trial call starts a fresh window. */
  success(state: CircuitState): void {
    if (state === CircuitState.HalfOpen) {
      this.reset();
    }
    this.current().successes++;
  }

  /** Records a failed call and says whether the window now meets the opening rule. */
  failure(_state: CircuitState): boolean {
    this.current().failures++;
    const { failures, calls } = this.totals();
    return calls >= this.minimumCalls && failures / calls >= this.threshold;
  }

  /** Empties the window. */
  reset(): void {
    this.buckets = emptyBuckets();
  }

  /** Failures and calls currently in the window. */
  totals(): { failures: number; calls: number } {
    const newest = this.bucketIndex();
    let failures = 0;
    let calls = 0;
    for (const bucket of this.buckets) {
      // A bucket from before the window (or from the future, if the clock stepped back) is ignored.
      if (bucket.index > newest - BUCKETS && bucket.index <= newest) {
        failures += bucket.failures;
        calls += bucket.failures + bucket.successes;
      }
    }
    return { failures, calls };
  }

  private bucketIndex(): number {
    return Math.floor(this.now() / this.bucketMs);
  }

  private current(): Bucket {
    const index = this.bucketIndex();
    const slot = ((index % BUCKETS) + BUCKETS) % BUCKETS;
    let bucket = this.buckets[slot];
    if (bucket === undefined || bucket.index !== index) {
      bucket = { index, failures: 0, successes: 0 };
      this.buckets[slot] = bucket;
    }
    return bucket;
  }
}

function emptyBuckets(): Bucket[] {
  return Array.from({ length: BUCKETS }, () => ({ index: -1, failures: 0, successes: 0 }));
}

/**
 * The Koban breaker rule (ARCHITECTURE.md, "Resilience: every hop"): open after
 * `consecutiveFailures` consecutive failures, OR when at least `threshold` of the calls of the
 * last `windowMs` failed with at least `minimumCalls` calls in the window. It is an `IBreaker`,
 * so cockatiel's `circuitBreaker` keeps owning the state machine (open, half-open after a delay,
 * close on a successful trial, reopen on a failed one); this class only decides when to open.
 */
export class ConsecutiveOrRateBreaker implements IBreaker {
  private readonly consecutive: ConsecutiveBreaker;
  private readonly rate: FailureRateBreaker;
  private openedBy: OpenedBy | undefined;

  constructor(settings: BreakerRuleSettings) {
    if (!Number.isInteger(settings.consecutiveFailures) || settings.consecutiveFailures < 1) {
      throw new RangeError(
        `consecutiveFailures must be a positive integer, got ${settings.consecutiveFailures}`,
      );
    }
    this.consecutive = new ConsecutiveBreaker(settings.consecutiveFailures);
    this.rate = new FailureRateBreaker(settings);
  }

  /** Both halves' state, for cockatiel's `toJSON` / `initialState`. */
  get state(): unknown {
    return { consecutive: this.consecutive.state, rate: this.rate.state };
  }

  set state(value: unknown) {
    const saved = (value ?? {}) as { consecutive?: unknown; rate?: unknown };
    this.consecutive.state = typeof saved.consecutive === 'number' ? saved.consecutive : 0;
    this.rate.state = saved.rate;
  }

  /** Which half of the rule last returned "open", if any. */
  get lastOpenedBy(): OpenedBy | undefined {
    return this.openedBy;
  }

  /** Records a successful call. */
  success(state: CircuitState): void {
    this.consecutive.success();
    this.rate.success(state);
  }

  /** Records a failed call in both halves and says whether either one opens the breaker. */
  failure(state: CircuitState): boolean {
    // Both halves must see every failure, so no short-circuiting `||` here.
    const byCount = this.consecutive.failure();
    const byRate = this.rate.failure(state);
    if (byCount || byRate) {
      this.openedBy = byCount ? 'consecutive_failures' : 'failure_rate';
    }
    return byCount || byRate;
  }

  /**
   * Forgets all history. Called when the circuit closes: cockatiel closes a half-open circuit
   * without calling `success` when the trial ends in an error the policy does not handle (a
   * business outcome), and stale counts must not reopen it on the next failure.
   */
  reset(): void {
    this.consecutive.success();
    this.rate.reset();
    this.openedBy = undefined;
  }

  /** Failures and calls in the failure-rate window, for tests and diagnostics. */
  windowTotals(): { failures: number; calls: number } {
    return this.rate.totals();
  }
}
