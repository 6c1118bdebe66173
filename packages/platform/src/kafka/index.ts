export { createKafka } from './kafka-client.js';
export type { KafkaSettings } from './kafka-client.js';
export { createEventProducer } from './event-producer.js';
export type { EventProducer, EventProducerOptions, PublishRequest, PublishResult } from './event-producer.js';
export { runIdempotentConsumer, PROCESSED_EVENTS_DDL, MAX_EVENT_ID_LENGTH } from './idempotent-consumer.js';
export type {
  ConsumedEvent,
  EventHandler,
  IdempotentConsumer,
  IdempotentConsumerOptions,
  ConsumerRetryBackoff,
  RunInTransaction,
} from './idempotent-consumer.js';
export {
  EVENT_ID_HEADER,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  extractTraceContext,
  injectTraceHeaders,
} from './trace-headers.js';
export type { EventHeaders } from './trace-headers.js';
export {
  DEFAULT_PROCESSED_EVENTS_RETENTION_MS,
  purgeProcessedEvents,
  startProcessedEventsPurger,
} from './processed-events-retention.js';
export type {
  ProcessedEventsPurger,
  ProcessedEventsPurgerOptions,
  ProcessedEventsRetention,
  PurgeProcessedEventsOptions,
} from './processed-events-retention.js';
export { startBackgroundConsumer } from './background-consumer.js';
export type { BackgroundConsumer, BackgroundConsumerOptions } from './background-consumer.js';
export { ensureTopics } from './topics-admin.js';
export type { EnsureTopicsOptions } from './topics-admin.js';
export { consumerLag } from './consumer-lag.js';
export type { GroupTopicCommits, PartitionLag, PartitionWatermarks } from './consumer-lag.js';
export { startConsumerLagMonitor } from './consumer-lag-monitor.js';
export type { ConsumerLagMonitor, ConsumerLagMonitorOptions } from './consumer-lag-monitor.js';
