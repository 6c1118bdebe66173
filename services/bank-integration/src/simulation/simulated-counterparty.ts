import { setTimeout as delay } from 'node:timers/promises';

/**
 * The network behaviour of a simulated bank or issuer, shared by both simulators: every call
 * takes `latencyMs` and loses its answer with probability `failureRate`, and requests carrying an
 * idempotency key are decided once and remembered, so that a repeated key answers the original
 * outcome (as a real bank's idempotency keys do).
 */
export interface SimulationSettings {
  latencyMs: number;
  /** 0..1: the share of calls whose answer is lost. */
  failureRate: number;
  /** Randomness for the failure rate; `Math.random` by default (tests pin it). */
  random?: () => number;
  /** Keys remembered per operation, oldest forgotten first (an in-memory simulator's bound). */
  rememberedKeys?: number;
}

/** The simulated counterparty did not answer: whether it acted is unknown to the caller. */
export class CounterpartyUnavailableError extends Error {
  override readonly name = 'CounterpartyUnavailableError';
  constructor(counterparty: string) {
    super(`the simulated ${counterparty} did not answer`);
  }
}

/** Outcomes of one keyed operation (debits, refunds...) by idempotency key. */
export class OutcomeMemory<Outcome> {
  private readonly outcomes = new Map<string, Promise<Outcome>>();
  constructor(private readonly limit: number) {}

  get(key: string): Promise<Outcome> | undefined {
    return this.outcomes.get(key);
  }

  set(key: string, outcome: Promise<Outcome>): void {
    this.outcomes.set(key, outcome);
    if (this.outcomes.size > this.limit) {
      const oldest = this.outcomes.keys().next();
      if (oldest.done !== true) this.outcomes.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.outcomes.delete(key);
  }
}

export interface SimulatedCounterparty {
  readonly rememberedKeys: number;
  /**
   * A request with an idempotency key. The first call decides after the latency; a repeat (even
   * while the first is still in flight) answers that decision. A lost answer is lost after the
   * decision was taken: the case idempotency keys exist for.
   */
  keyed<Outcome>(memory: OutcomeMemory<Outcome>, key: string, decide: () => Outcome): Promise<Outcome>;
  /** A request without side effects (a card verification): the latency, then the decision. */
  once<Outcome>(decide: () => Outcome): Promise<Outcome>;
}

export function createSimulatedCounterparty(
  counterparty: string,
  settings: SimulationSettings,
): SimulatedCounterparty {
  const random = settings.random ?? Math.random;
  const wait = () => delay(settings.latencyMs);
  const answer = <Outcome>(outcome: Outcome): Outcome => {
    if (settings.failureRate > 0 && random() < settings.failureRate) {
      throw new CounterpartyUnavailableError(counterparty);
    }
    return outcome;
  };

  return {
    rememberedKeys: settings.rememberedKeys ?? 100_000,

    async keyed(memory, key, decide) {
      let decision = memory.get(key);
      if (decision === undefined) {
        decision = wait().then(decide);
        memory.set(key, decision);
        decision.catch(() => memory.delete(key));
      } else {
        await wait();
      }
      return answer(await decision);
    },

    async once(decide) {
      await wait();
      return answer(decide());
    },
  };
}
