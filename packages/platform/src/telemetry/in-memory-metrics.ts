import type { Attributes, AttributeValue, Meter } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { withFreshGauges } from './fresh-gauges.js';

/** One data point as a test reads it back. */
export interface MetricPoint {
  attributes: Attributes;
  /** A counter's sum or a gauge's value; a histogram's sum of recorded values. */
  value: number;
  /** Histograms only: how many values were recorded. */
  count?: number;
}

/** A meter whose measurements a test can read back (see {@link createInMemoryMetrics}). */
export interface InMemoryMetrics {
  meter: Meter;
  /** Every point of the metric `name` at this moment (runs the gauges' callbacks). */
  points(name: string): Promise<MetricPoint[]>;
  /**
   * The value of the one point of `name` whose attributes include `attributes`; undefined when
   * there is none. Throws when several points match: the test must say which it means.
   */
  value(name: string, attributes?: Readonly<Record<string, AttributeValue>>): Promise<number | undefined>;
  /** Stops the meter provider; its gauges' callbacks run no more. */
  shutdown(): Promise<void>;
}

// A pull reader: collect() is all a test needs, so flush and shutdown have nothing to do.
class CollectingReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const matches = (point: MetricPoint, wanted: Readonly<Record<string, AttributeValue>>): boolean =>
  Object.entries(wanted).every(([key, value]) => point.attributes[key] === value);

/**
 * A real SDK meter with a reader of its own, for tests of code that records metrics: pass
 * `meter` where the code takes one, then read what it recorded. Counters are cumulative; gauges
 * report what their callbacks observe at each read, as the services' exporters do.
 */
export function createInMemoryMetrics(): InMemoryMetrics {
  const reader = withFreshGauges(new CollectingReader());
  const provider = new MeterProvider({ readers: [reader] });

  async function points(name: string): Promise<MetricPoint[]> {
    const { resourceMetrics } = await reader.collect();
    const found: MetricPoint[] = [];
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        if (metric.descriptor.name !== name) continue;
        if (metric.dataPointType === DataPointType.HISTOGRAM) {
          for (const p of metric.dataPoints) {
            found.push({ attributes: p.attributes, value: p.value.sum ?? 0, count: p.value.count });
          }
        } else if (
          metric.dataPointType === DataPointType.SUM ||
          metric.dataPointType === DataPointType.GAUGE
        ) {
          for (const p of metric.dataPoints) found.push({ attributes: p.attributes, value: p.value });
        }
      }
    }
    return found;
  }

  return {
    meter: provider.getMeter('test'),
    points,
    async value(name, attributes = {}) {
      const matching = (await points(name)).filter((p) => matches(p, attributes));
      if (matching.length > 1) {
        throw new Error(`${matching.length} points of ${name} match ${JSON.stringify(attributes)}`);
      }
      return matching[0]?.value;
    },
    shutdown: () => provider.shutdown(),
  };
}
