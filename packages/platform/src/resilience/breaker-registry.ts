/** A breaker's state as seen from outside. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * One breaker's state and counters since the process started, as served by
 * `OpsService.ListBreakers` and `GET /v1/admin/breakers`.
 */
export interface BreakerSnapshot {
  /** `"<caller>→<callee>"`. */
  name: string;
  caller: string;
  callee: string;
  state: BreakerState;
  /** Calls the breaker counted as failures (timeouts included). */
  failures: number;
  /** Calls that succeeded. */
  successes: number;
  /** Calls refused without being attempted because the breaker was open. */
  rejections: number;
  /** Times the breaker opened (a failed trial call reopening it counts). */
  trips: number;
  /** ISO-8601 time of the last state change; `null` while it has never left `closed`. */
  lastTransitionAt: string | null;
}

/** What the registry needs from a dependency policy. */
export interface RegisteredBreaker {
  readonly name: string;
  snapshot(): BreakerSnapshot;
  dispose(): void;
}

const registry = new Map<string, RegisteredBreaker>();

/**
 * Adds a breaker to the process-wide registry. Returns the breaker it replaced, if one with the
 * same name was already registered, so the caller can warn: a dependency policy is meant to be
 * built once per process and shared.
 */
export function registerBreaker(breaker: RegisteredBreaker): RegisteredBreaker | undefined {
  const previous = registry.get(breaker.name);
  registry.set(breaker.name, breaker);
  return previous;
}

/** Removes a breaker from the registry, unless another one has replaced it since. */
export function unregisterBreaker(breaker: RegisteredBreaker): void {
  if (registry.get(breaker.name) === breaker) {
    registry.delete(breaker.name);
  }
}

/**
 * Snapshots of every dependency policy created in this process, keyed by `"<caller>→<callee>"`.
 */
export function listBreakers(): Record<string, BreakerSnapshot> {
  const breakers: Record<string, BreakerSnapshot> = {};
  for (const [name, breaker] of registry) {
    breakers[name] = breaker.snapshot();
  }
  return breakers;
}

/** Disposes and forgets every registered breaker. For tests. */
export function resetBreakerRegistry(): void {
  const breakers = [...registry.values()];
  registry.clear();
  for (const breaker of breakers) {
    breaker.dispose();
  }
}
