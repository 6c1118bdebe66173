import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { withFreshGauges } from './fresh-gauges.js';

class PullReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

async function collect(reader: MetricReader): Promise<Record<string, Array<[unknown, number]>>> {
  const { resourceMetrics } = await reader.collect();
  const found: Record<string, Array<[unknown, number]>> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      found[metric.descriptor.name] = metric.dataPoints.map((p) => [p.attributes, p.value as number]);
    }
  }
  return found;
}

/** A gauge that observes group `a`, then only group `b`, then nothing; and a counter. */
function instrumentedProvider(reader: MetricReader) {
  const meter = new MeterProvider({ readers: [reader] }).getMeter('test');
  const observations = [[['a', 5]], [['b', 6]], []] as const;
  let collection = 0;
  meter.createObservableGauge('lag').addCallback((result) => {
    for (const [group, value] of observations[collection] ?? []) result.observe(value, { group });
    collection += 1;
  });
  const counter = meter.createCounter('commits');
  return { counter };
}

test('a fresh-gauge reader reports only what the gauge observed in this collection', async () => {
  const reader = withFreshGauges(new PullReader());
  const { counter } = instrumentedProvider(reader);
  counter.add(1);
  assert.deepEqual(await collect(reader), { lag: [[{ group: 'a' }, 5]], commits: [[{}, 1]] });
  counter.add(1);
  assert.deepEqual(await collect(reader), { lag: [[{ group: 'b' }, 6]], commits: [[{}, 2]] });
  // Counters stay cumulative.
  assert.deepEqual((await collect(reader))['commits'], [[{}, 2]]);
});

test('without it the SDK repeats every attribute set a gauge ever observed', async () => {
  const reader = new PullReader();
  instrumentedProvider(reader);
  await collect(reader);
  await collect(reader);
  assert.deepEqual((await collect(reader))['lag'], [
    [{ group: 'a' }, 5],
    [{ group: 'b' }, 6],
  ]);
});
