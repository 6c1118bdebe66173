import { setTimeout as sleep } from 'node:timers/promises';
import { metrics, type Meter, type ObservableCallback, type ObservableGauge } from '@opentelemetry/api';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import {
  consumerLag,
  type GroupTopicCommits,
  type PartitionLag,
  type PartitionWatermarks,
} from './consumer-lag.js';

/** Options of {@link startConsumerLagMonitor}. */
export interface ConsumerLagMonitorOptions {
  kafka: Kafka;
  /** The topics whose consumer groups are watched: those the service publishes. */
  topics: readonly string[];
  logger: Logger;
  /** How often the offsets are read; 5 s by default. */
  intervalMs?: number;
  /** Which consumer groups to report; every group that consumes one of the topics by default. */
  includeGroup?: (groupId: string) => boolean;
  /** Where `koban.kafka.consumer.lag` goes; `metrics.getMeter('koban-kafka')` by default. */
  meter?: Meter;
}

/** A running lag monitor. */
export interface ConsumerLagMonitor {
  /** Stops polling, withdraws the gauge's points and disconnects the admin client. */
  stop(): Promise<void>;
}

// One gauge per meter: several monitors of a process each add their own callback.
const gauges = new WeakMap<Meter, ObservableGauge>();

function lagGauge(meter: Meter): ObservableGauge {
  let gauge = gauges.get(meter);
  if (gauge === undefined) {
    gauge = meter.createObservableGauge('koban.kafka.consumer.lag', {
      description:
        'Records a consumer group has yet to process, per partition: log end offset minus the group’s committed offset',
      unit: '{message}',
    });
    gauges.set(meter, gauge);
  }
  return gauge;
}

/** One reading of every watched group's committed offsets against the topics' end offsets. */
async function readLag(
  admin: Admin,
  topics: readonly string[],
  includeGroup: (groupId: string) => boolean,
): Promise<PartitionLag[]> {
  // Only existing topics are asked about: a metadata request for a missing one could create it.
  const existing = new Set(await admin.listTopics());
  const watched = topics.filter((topic) => existing.has(topic));
  if (watched.length === 0) return [];
  const { groups } = await admin.listGroups();
  // Empty groups (every member stopped) are listed too, with their commits: their lag is the
  // point of this monitor.
  const groupIds = groups
    .filter((group) => group.protocolType === 'consumer' && includeGroup(group.groupId))
    .map((group) => group.groupId);
  const [watermarks, commits] = await Promise.all([
    Promise.all(
      watched.map(async (topic): Promise<[string, PartitionWatermarks[]]> => [
        topic,
        await admin.fetchTopicOffsets(topic),
      ]),
    ),
    Promise.all(
      groupIds.map(async (groupId): Promise<GroupTopicCommits[]> => {
        const byTopic = await admin.fetchOffsets({ groupId, topics: watched });
        return byTopic.map(({ topic, partitions }) => ({ groupId, topic, partitions }));
      }),
    ),
  ]);
  return consumerLag(new Map(watermarks), commits.flat());
}

/**
 * Reports `koban.kafka.consumer.lag` (attributes `group`, `topic`, `partition`) for every consumer
 * group of `topics`, read with the admin API every `intervalMs`: the topics' end offsets against
 * each group's committed offsets. Run by the service that publishes the topics, not by the
 * consumers, so that a stopped or crashed consumer's lag keeps being reported (and rising).
 * While Kafka cannot be read the gauge reports nothing rather than a stale value; a reading
 * older than three intervals is not reported either.
 */
export function startConsumerLagMonitor(options: ConsumerLagMonitorOptions): ConsumerLagMonitor {
  const logger = options.logger.child({ component: 'consumer-lag-monitor' });
  const intervalMs = options.intervalMs ?? 5_000;
  const includeGroup = options.includeGroup ?? (() => true);
  const gauge = lagGauge(options.meter ?? metrics.getMeter('koban-kafka'));
  const admin = options.kafka.admin();
  const stopping = new AbortController();
  let connected = false;
  let failing = false;
  let latest: { lags: PartitionLag[]; readAt: number } | undefined;

  async function poll(): Promise<void> {
    try {
      if (!connected) {
        await admin.connect();
        connected = true;
      }
      latest = { lags: await readLag(admin, options.topics, includeGroup), readAt: Date.now() };
      if (failing) logger.info('consumer lag readable again');
      failing = false;
    } catch (err) {
      latest = undefined;
      // Once per outage, not once per poll.
      if (!failing) logger.warn({ err, topics: options.topics }, 'could not read consumer lag');
      failing = true;
      // A fresh connection next time: the broker the admin knew may be gone.
      if (connected) await admin.disconnect().catch(() => undefined);
      connected = false;
    }
  }

  const observe: ObservableCallback = (result) => {
    if (latest === undefined || Date.now() - latest.readAt > 3 * intervalMs) return;
    for (const { group, topic, partition, lag } of latest.lags) {
      result.observe(lag, { group, topic, partition: String(partition) });
    }
  };
  gauge.addCallback(observe);

  const running = (async () => {
    while (!stopping.signal.aborted) {
      await poll();
      await sleep(intervalMs, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  })();

  return {
    async stop() {
      stopping.abort();
      gauge.removeCallback(observe);
      // A read in flight against an unreachable broker can take kafkajs a while to give up;
      // shutdown does not wait for it beyond a moment.
      await Promise.race([running, sleep(2_000, undefined, { ref: false })]);
      if (connected) await admin.disconnect().catch(() => undefined);
    },
  };
}
