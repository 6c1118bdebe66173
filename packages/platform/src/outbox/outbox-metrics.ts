import type { Counter, Meter, ObservableCallback, ObservableGauge } from '@opentelemetry/api';
import type { Logger } from 'pino';

/** The outbox backlog as one cheap query sees it. */
export interface OutboxStats {
  /** Rows not yet published. */
  backlog: number;
  /** Age of the oldest unpublished row in seconds; 0 when there is none. */
  oldestAgeSeconds: number;
}

/** The OpenTelemetry instruments of the outbox relay. */
interface OutboxInstruments {
  backlog: ObservableGauge;
  oldestAge: ObservableGauge;
  published: Counter;
  publishFailures: Counter;
}

// Created once per meter: several relays of one process share the instruments and each adds
// its own gauge callback, rather than registering the same names again.
const byMeter = new WeakMap<Meter, OutboxInstruments>();

function outboxInstruments(meter: Meter): OutboxInstruments {
  let instruments = byMeter.get(meter);
  if (instruments === undefined) {
    instruments = {
      backlog: meter.createObservableGauge('koban.outbox.backlog', {
        description: 'Outbox rows not yet published to Kafka',
        unit: '{event}',
      }),
      oldestAge: meter.createObservableGauge('koban.outbox.oldest_age_seconds', {
        description: 'Age of the oldest outbox row not yet published to Kafka',
        unit: 's',
      }),
      published: meter.createCounter('koban.outbox.published', {
        description: 'Outbox rows published to Kafka (acknowledged by all in-sync replicas), by topic',
        unit: '{event}',
      }),
      publishFailures: meter.createCounter('koban.outbox.publish_failures', {
        description: 'Outbox rows whose publish failed (they stay in the outbox and are retried), by topic',
        unit: '{event}',
      }),
    };
    byMeter.set(meter, instruments);
  }
  return instruments;
}

/** The relay's counters. */
export interface OutboxCounters {
  published(topic: string, count: number): void;
  publishFailed(topic: string, count: number): void;
}

/** Counters of rows published and of rows whose publish failed, by topic. */
export function outboxCounters(meter: Meter): OutboxCounters {
  const instruments = outboxInstruments(meter);
  return {
    published: (topic, count) => {
      if (count > 0) instruments.published.add(count, { topic });
    },
    publishFailed: (topic, count) => {
      if (count > 0) instruments.publishFailures.add(count, { topic });
    },
  };
}

/**
 * Reports the backlog gauges from `readStats`, run at most once per `statsMaxAgeMs` however often
 * the metrics are collected (one query serves both gauges). When the query fails the gauges report
 * nothing rather than a stale value. Returns the function that removes the callbacks.
 */
export function observeOutboxBacklog(
  meter: Meter,
  readStats: () => Promise<OutboxStats>,
  options: { statsMaxAgeMs: number; logger: Logger },
): () => void {
  const instruments = outboxInstruments(meter);
  let cached: { stats: OutboxStats; readAt: number } | undefined;
  let reading: Promise<void> | undefined;
  let failing = false;

  const refresh = (): Promise<void> => {
    reading ??= readStats()
      .then((stats) => {
        cached = { stats, readAt: Date.now() };
        failing = false;
      })
      .catch((err: unknown) => {
        cached = undefined;
        if (!failing) options.logger.warn({ err }, 'could not read the outbox backlog for metrics');
        failing = true;
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
  const fresh = async (): Promise<OutboxStats | undefined> => {
    if (cached === undefined || Date.now() - cached.readAt >= options.statsMaxAgeMs) await refresh();
    return cached?.stats;
  };

  const observeBacklog: ObservableCallback = async (result) => {
    const stats = await fresh();
    if (stats) result.observe(stats.backlog);
  };
  const observeOldestAge: ObservableCallback = async (result) => {
    const stats = await fresh();
    if (stats) result.observe(stats.oldestAgeSeconds);
  };
  instruments.backlog.addCallback(observeBacklog);
  instruments.oldestAge.addCallback(observeOldestAge);
  return () => {
    instruments.backlog.removeCallback(observeBacklog);
    instruments.oldestAge.removeCallback(observeOldestAge);
  };
}
