import { AggregationTemporality, InstrumentType, type MetricReader } from '@opentelemetry/sdk-metrics';

/**
 * Makes `reader` report an observable gauge's points only when its callback observed them in
 * this collection. With the SDK's default (cumulative) temporality every attribute set a gauge
 * ever observed is reported again at each collection with its last value: a consumer group
 * deleted long ago, or the lag read before Kafka went away, would be exported forever as if
 * current. A gauge has no temporality of its own in the data model, so asking for delta changes
 * nothing else; counters and histograms keep the reader's choice (cumulative for Prometheus).
 * Returns the same reader; call it before the reader is registered with a MeterProvider.
 */
export function withFreshGauges<Reader extends MetricReader>(reader: Reader): Reader {
  const chosen = reader.selectAggregationTemporality.bind(reader);
  reader.selectAggregationTemporality = (instrumentType) =>
    instrumentType === InstrumentType.OBSERVABLE_GAUGE
      ? AggregationTemporality.DELTA
      : chosen(instrumentType);
  return reader;
}
