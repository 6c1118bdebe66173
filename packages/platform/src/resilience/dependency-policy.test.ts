import assert from 'node:assert/strict';
import { afterEach, before, after, describe, it } from 'node:test';
import { ROOT_CONTEXT, TraceFlags, context, trace, type MetricAttributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BrokenCircuitError, BulkheadRejectedError, TaskCancelledError } from 'cockatiel';
import { createLogger } from '../logging/index.js';
import { listBreakers, resetBreakerRegistry } from './breaker-registry.js';
import {
  createDependencyPolicy,
  defaultIsFailure,
  failureKind,
  isDomainError,
  type DependencyPolicy,
  type DependencyPolicyOptions,
} from './dependency-policy.js';

class TestMetricReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

interface LogLine {
  level: string;
  msg: string;
  breaker?: string;
  from?: string;
  to?: string;
  trace_id?: string;
  opened_by?: string;
  reason?: string;
}

let sequence = 0;

/** A policy on a fresh callee, with a logger and a meter the test can read back. */
function setup(overrides: Partial<DependencyPolicyOptions> = {}): {
  policy: DependencyPolicy;
  lines: LogLine[];
  metric: (name: string, attributes?: MetricAttributes) => Promise<number | undefined>;
} {
  const lines: LogLine[] = [];
  const logger = createLogger({
    service: 'test',
    level: 'debug',
    destination: { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  });
  const reader = new TestMetricReader();
  const meter = new MeterProvider({ readers: [reader] }).getMeter('test');
  sequence += 1;
  const policy = createDependencyPolicy(
    { caller: 'test', callee: `dep-${sequence}`, timeoutMs: 1_000, retry: false, ...overrides },
    { logger, meter },
  );
  const metric = async (name: string, attributes: MetricAttributes = {}): Promise<number | undefined> => {
    const { resourceMetrics } = await reader.collect();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const data of scope.metrics) {
        if (data.descriptor.name !== name) {
          continue;
        }
        const point = data.dataPoints.find((p) =>
          Object.entries(attributes).every(([key, value]) => p.attributes[key] === value),
        );
        return point === undefined ? undefined : (point.value as number);
      }
    }
    return undefined;
  };
  return { policy, lines, metric };
}

const unavailable = (): Promise<never> => Promise.reject(new Error('unavailable'));

class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(readonly code: string) {
    super(code);
  }
}

/** Runs `count` failing calls, ignoring their errors. */
async function fail(policy: DependencyPolicy, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await policy.execute(unavailable, { idempotent: false }).catch(() => undefined);
  }
}

/** Resolves once `predicate` holds; fails the test if it does not within `timeoutMs`. */
async function poll(predicate: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) {
      assert.fail(`condition not met within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

afterEach(() => resetBreakerRegistry());

describe('createDependencyPolicy: breaker', () => {
  it('opens after 5 consecutive failures', async () => {
    const { policy, metric } = setup();
    await fail(policy, 4);
    assert.equal(policy.snapshot().state, 'closed');
    await fail(policy, 1);
    assert.equal(policy.snapshot().state, 'open');
    assert.equal(policy.snapshot().trips, 1);
    assert.equal(policy.snapshot().failures, 5);
    assert.equal(await metric('koban.breaker.state', { caller: 'test' }), 2);
    assert.equal(await metric('koban.breaker.transitions', { to: 'open' }), 1);
  });

  it('does not open by rate on 4 failures in 4 calls', async () => {
    const { policy } = setup({ breaker: { consecutiveFailures: 100 } });
    await fail(policy, 4);
    assert.equal(policy.snapshot().state, 'closed');
  });

  it('opens by rate when 5 of 10 calls in the window failed', async () => {
    const { policy } = setup();
    const ok = (): Promise<string> => Promise.resolve('ok');
    for (const call of 'SSSSFSFFF') {
      await (call === 'S' ? policy.execute(ok, { idempotent: false }) : fail(policy, 1));
    }
    assert.equal(policy.snapshot().state, 'closed');
    await fail(policy, 1);
    assert.equal(policy.snapshot().state, 'open');
  });

  it('fails fast without calling fn while open', async () => {
    const { policy, metric } = setup();
    await fail(policy, 5);
    let called = false;
    await assert.rejects(
      policy.execute(
        () => {
          called = true;
          return Promise.resolve('ok');
        },
        { idempotent: true },
      ),
      BrokenCircuitError,
    );
    assert.equal(called, false);
    assert.equal(policy.snapshot().rejections, 1);
    assert.equal(await metric('koban.breaker.rejections'), 1);
  });

  it('half-opens after the configured delay, then closes after a successful trial', async () => {
    const { policy, lines, metric } = setup({ breaker: { halfOpenAfterMs: 200 } });
    await fail(policy, 5);
    await poll(() => policy.snapshot().state === 'half-open');
    assert.equal(await metric('koban.breaker.state'), 1);
    assert.equal(await policy.execute(() => Promise.resolve('trial'), { idempotent: false }), 'trial');
    assert.equal(policy.snapshot().state, 'closed');
    assert.equal(await metric('koban.breaker.state'), 0);
    const transitions = lines.filter((line) => line.to !== undefined);
    assert.deepEqual(
      transitions.map(({ level, from, to }) => ({ level, from, to })),
      [
        { level: 'warn', from: 'closed', to: 'open' },
        { level: 'info', from: 'open', to: 'half-open' },
        { level: 'info', from: 'half-open', to: 'closed' },
      ],
    );
    assert.equal(transitions[0]?.breaker, policy.name);
    assert.equal(transitions[0]?.opened_by, 'consecutive_failures');
  });

  it('reopens after a failed trial and keeps refusing calls', async () => {
    const { policy, lines } = setup({ breaker: { halfOpenAfterMs: 200 } });
    await fail(policy, 5);
    await poll(() => policy.snapshot().state === 'half-open');
    await assert.rejects(policy.execute(unavailable, { idempotent: false }), /unavailable/);
    assert.equal(policy.snapshot().state, 'open');
    assert.equal(policy.snapshot().trips, 2);
    assert.equal(lines.at(-1)?.opened_by, 'failed_trial');
    let called = false;
    await assert.rejects(
      policy.execute(
        () => {
          called = true;
          return Promise.resolve();
        },
        { idempotent: false },
      ),
      BrokenCircuitError,
    );
    assert.equal(called, false);
  });

  it('needs a full count again after a trial closed it', async () => {
    const { policy } = setup({ breaker: { halfOpenAfterMs: 200 } });
    await fail(policy, 5);
    await poll(() => policy.snapshot().state === 'half-open');
    await policy.execute(() => Promise.resolve(), { idempotent: false });
    await fail(policy, 3);
    assert.equal(policy.snapshot().state, 'closed');
  });
});

describe('createDependencyPolicy: retries', () => {
  const retry = { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 };

  /** A call that fails `failures` times, then answers. */
  function flaky(failures: number): { fn: () => Promise<string>; calls: () => number } {
    let calls = 0;
    return {
      fn: () => (++calls <= failures ? Promise.reject(new Error('flaky')) : Promise.resolve('ok')),
      calls: () => calls,
    };
  }

  it('retries an idempotent call', async () => {
    const { policy, metric } = setup({ retry });
    const call = flaky(2);
    assert.equal(await policy.execute(call.fn, { idempotent: true }), 'ok');
    assert.equal(call.calls(), 3);
    assert.equal(await metric('koban.resilience.retries'), 2);
  });

  it('gives up after maxAttempts attempts in total', async () => {
    const { policy } = setup({ retry });
    const call = flaky(10);
    await assert.rejects(policy.execute(call.fn, { idempotent: true }), /flaky/);
    assert.equal(call.calls(), 3);
  });

  it('never retries a call that is not idempotent', async () => {
    const { policy } = setup({ retry });
    const call = flaky(1);
    await assert.rejects(policy.execute(call.fn, { idempotent: false }), /flaky/);
    assert.equal(call.calls(), 1);
  });

  it('stops retrying once the breaker opens, and throws the failure rather than the refusal', async () => {
    const { policy } = setup({ retry: { ...retry, maxAttempts: 5 }, breaker: { consecutiveFailures: 2 } });
    const call = flaky(10);
    await assert.rejects(policy.execute(call.fn, { idempotent: true }), /flaky/);
    assert.equal(call.calls(), 2);
    assert.equal(policy.snapshot().state, 'open');
  });

  it('does not retry a call refused by the open breaker', async () => {
    const { policy, metric } = setup({ retry });
    await fail(policy, 5);
    const call = flaky(0);
    await assert.rejects(policy.execute(call.fn, { idempotent: true }), BrokenCircuitError);
    assert.equal(call.calls(), 0);
    assert.equal(await metric('koban.resilience.retries'), undefined);
  });
});

describe('createDependencyPolicy: business outcomes', () => {
  it('passes a DomainError through without retrying it or counting it', async () => {
    const { policy } = setup({ retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 } });
    const refusal = new DomainError('insufficient_funds');
    let calls = 0;
    for (let i = 0; i < 10; i++) {
      await assert.rejects(
        policy.execute(
          () => {
            calls++;
            return Promise.reject(refusal);
          },
          { idempotent: true },
        ),
        (err) => err === refusal,
      );
    }
    assert.equal(calls, 10);
    const { state, failures, trips } = policy.snapshot();
    assert.deepEqual({ state, failures, trips }, { state: 'closed', failures: 0, trips: 0 });
  });

  it('uses the isFailure option instead of the default', async () => {
    const notFound = Object.assign(new Error('not found'), { status: 5 });
    const { policy } = setup({ isFailure: (err) => (err as { status?: number }).status !== 5 });
    for (let i = 0; i < 6; i++) {
      await policy.execute(() => Promise.reject(notFound), { idempotent: false }).catch(() => undefined);
    }
    assert.equal(policy.snapshot().state, 'closed');
    assert.equal(policy.snapshot().failures, 0);
  });

  it('recognises a business outcome only by name DomainError and a snake_case code', () => {
    assert.equal(isDomainError(new DomainError('insufficient_funds')), true);
    assert.equal(isDomainError(new DomainError('locked')), true);
    assert.equal(isDomainError(new DomainError('INSUFFICIENT_FUNDS')), false);
    assert.equal(isDomainError(Object.assign(new Error('x'), { code: 'insufficient_funds' })), false);
    assert.equal(isDomainError({ name: 'DomainError', code: 14 }), false);
    assert.equal(isDomainError('insufficient_funds'), false);
    assert.equal(defaultIsFailure(new Error('boom')), true);
    assert.equal(defaultIsFailure(undefined), true);
  });
});

describe('createDependencyPolicy: timeouts', () => {
  it('aborts the signal at the timeout and counts it as a failure', async () => {
    const { policy, metric } = setup({ timeoutMs: 30 });
    let seen: AbortSignal | undefined;
    await assert.rejects(
      policy.execute(
        ({ signal }) => {
          seen = signal;
          // Never settles by itself: only the timeout can end this call.
          return new Promise<never>(() => undefined);
        },
        { idempotent: false },
      ),
      TaskCancelledError,
    );
    assert.equal(seen?.aborted, true);
    assert.equal(policy.snapshot().failures, 1);
    assert.equal(await metric('koban.resilience.timeouts'), 1);
  });

  it('reads a call that rejects on its aborted signal as a timeout, a failure whatever isFailure says', async () => {
    const { policy } = setup({ timeoutMs: 10, isFailure: () => false });
    const honoursAbort = ({ signal }: { signal: AbortSignal }): Promise<never> =>
      new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(new Error('cancelled by caller'))),
      );
    for (let i = 0; i < 5; i++) {
      await assert.rejects(policy.execute(honoursAbort, { idempotent: false }), TaskCancelledError);
    }
    assert.equal(policy.snapshot().state, 'open');
  });
});

describe('createDependencyPolicy: trace ids', () => {
  const contextManager = new AsyncLocalStorageContextManager();
  before(() => assert.equal(context.setGlobalContextManager(contextManager.enable()), true));
  after(() => {
    context.disable();
    contextManager.disable();
  });

  const inSpan = <T>(traceId: string, fn: () => Promise<T>): Promise<T> =>
    context.with(
      trace.setSpanContext(ROOT_CONTEXT, {
        traceId,
        spanId: '00f067aa0ba902b7',
        traceFlags: TraceFlags.SAMPLED,
      }),
      fn,
    );

  it('logs the opening with the trace id of the call that tripped the breaker', async () => {
    const { policy, lines } = setup();
    const earlier = '11111111111111111111111111111111';
    const tripping = '4bf92f3577b34da6a3ce929d0e0e4736';
    await inSpan(earlier, () => fail(policy, 4));
    await Promise.all([inSpan(tripping, () => fail(policy, 1)), inSpan(earlier, () => Promise.resolve())]);
    const opened = lines.find((line) => line.to === 'open');
    assert.equal(opened?.trace_id, tripping);
  });

  it('logs a time-driven half-open without a trace id, and the closing with the trial call one', async () => {
    const { policy, lines } = setup({ breaker: { halfOpenAfterMs: 100 } });
    const trial = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    await inSpan('11111111111111111111111111111111', () => fail(policy, 5));
    await poll(() => policy.snapshot().state === 'half-open');
    await inSpan(trial, () => policy.execute(() => Promise.resolve(), { idempotent: false }));
    assert.equal(lines.find((line) => line.to === 'half-open')?.trace_id, undefined);
    assert.equal(lines.find((line) => line.to === 'closed')?.trace_id, trial);
  });
});

describe('createDependencyPolicy: fallbacks', () => {
  it('answers with the fallback when the breaker is open, without calling fn', async () => {
    const { policy, metric, lines } = setup();
    await fail(policy, 5);
    let called = false;
    let reason: unknown;
    const answer = await policy.withFallback(
      () => {
        called = true;
        return Promise.resolve('fresh');
      },
      (why) => {
        reason = why;
        return 'cached';
      },
    );
    assert.equal(answer, 'cached');
    assert.equal(called, false);
    assert.ok(reason instanceof BrokenCircuitError);
    assert.equal(await metric('koban.resilience.fallbacks', { reason: 'open' }), 1);
    assert.ok(lines.some((line) => line.level === 'debug' && line.reason === 'open'));
  });

  it('answers with the fallback on a timeout and on a failure', async () => {
    const { policy, metric } = setup({ timeoutMs: 20 });
    const slow = await policy.withFallback(
      () => new Promise<string>(() => undefined),
      (reason) => failureKind(reason),
    );
    assert.equal(slow, 'timeout');
    const broken = await policy.withFallback(unavailable, (reason) =>
      Promise.resolve((reason as Error).message),
    );
    assert.equal(broken, 'unavailable');
    assert.equal(await metric('koban.resilience.fallbacks', { reason: 'timeout' }), 1);
    assert.equal(await metric('koban.resilience.fallbacks', { reason: 'failure' }), 1);
  });

  it('throws a business outcome instead of falling back', async () => {
    const { policy } = setup();
    const refusal = new DomainError('card_locked');
    let fellBack = false;
    await assert.rejects(
      policy.withFallback(
        () => Promise.reject(refusal),
        () => {
          fellBack = true;
          return 'fallback';
        },
      ),
      (err) => err === refusal,
    );
    assert.equal(fellBack, false);
  });

  it('retries an idempotent call before falling back', async () => {
    const { policy } = setup({ retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 } });
    let calls = 0;
    const answer = await policy.withFallback(
      () => (++calls === 1 ? unavailable() : Promise.resolve('second try')),
      () => 'fallback',
      { idempotent: true },
    );
    assert.equal(answer, 'second try');
    assert.equal(calls, 2);
  });
});

describe('createDependencyPolicy: bulkhead', () => {
  it('refuses calls beyond the limit and the queue without counting them as failures', async () => {
    const { policy } = setup({ bulkhead: { limit: 1, queue: 0 } });
    let release: (value: string) => void = () => undefined;
    const first = policy.execute(() => new Promise<string>((resolve) => (release = resolve)), {
      idempotent: false,
    });
    await assert.rejects(
      policy.execute(() => Promise.resolve('second'), { idempotent: false }),
      BulkheadRejectedError,
    );
    assert.equal(
      await policy.withFallback(
        () => Promise.resolve('third'),
        (reason) => failureKind(reason),
      ),
      'bulkhead_full',
    );
    release('first');
    assert.equal(await first, 'first');
    assert.equal(policy.snapshot().failures, 0);
    assert.equal(await policy.execute(() => Promise.resolve('after'), { idempotent: false }), 'after');
  });
});

describe('breaker registry', () => {
  it('lists every policy of the process with its snapshot', async () => {
    const { policy: a } = setup();
    const { policy: b } = setup();
    await fail(b, 5);
    await b.execute(unavailable, { idempotent: false }).catch(() => undefined);
    await a.execute(() => Promise.resolve(), { idempotent: false });
    const breakers = listBreakers();
    assert.deepEqual(Object.keys(breakers), [a.name, b.name]);
    assert.deepEqual(breakers[a.name], {
      name: a.name,
      caller: 'test',
      callee: a.name.split('→')[1],
      state: 'closed',
      failures: 0,
      successes: 1,
      rejections: 0,
      trips: 0,
      lastTransitionAt: null,
    });
    const snapshotB = breakers[b.name];
    assert.equal(snapshotB?.name, `test→${b.name.split('→')[1]}`);
    assert.equal(snapshotB?.state, 'open');
    assert.equal(snapshotB?.failures, 5);
    assert.equal(snapshotB?.rejections, 1);
    assert.equal(snapshotB?.trips, 1);
    assert.ok(
      snapshotB?.lastTransitionAt !== null && !Number.isNaN(Date.parse(snapshotB?.lastTransitionAt ?? '')),
    );
  });

  it('keeps the newer of two policies for the same dependency and warns', () => {
    const { policy: first } = setup({ callee: 'twice' });
    const { policy: second, lines } = setup({ callee: 'twice' });
    assert.equal(first.name, second.name);
    assert.deepEqual(Object.keys(listBreakers()), ['test→twice']);
    assert.ok(lines.some((line) => line.level === 'warn' && line.breaker === 'test→twice'));
    first.dispose();
    assert.deepEqual(Object.keys(listBreakers()), ['test→twice']);
  });

  it('is emptied by resetBreakerRegistry', () => {
    setup();
    resetBreakerRegistry();
    assert.deepEqual(listBreakers(), {});
  });
});

describe('createDependencyPolicy: options', () => {
  it('works with the global meter when none is given', async () => {
    const logger = createLogger({ service: 'test', destination: { write: () => undefined } });
    const policy = createDependencyPolicy({ caller: 'test', callee: 'no-meter', timeoutMs: 100 }, { logger });
    assert.equal(await policy.execute(() => Promise.resolve('ok'), { idempotent: true }), 'ok');
    assert.equal(listBreakers()['test→no-meter']?.successes, 1);
  });

  it('rejects options that cannot work, naming the field', () => {
    assert.throws(() => setup({ timeoutMs: 0 }), /test→dep-\d+: invalid timeoutMs/);
    assert.throws(
      () => setup({ retry: { maxAttempts: 0, initialDelayMs: 1, maxDelayMs: 1 } }),
      /retry\.maxAttempts/,
    );
    assert.throws(() => setup({ breaker: { failureRateThreshold: 2 } }), /breaker\.failureRateThreshold/);
    assert.throws(() => setup({ bulkhead: { limit: 0, queue: 0 } }), /bulkhead\.limit/);
  });
});
