export { OUTBOX_DDL, enqueueOutboxEvent } from './outbox-store.js';
export type { OutboxEvent } from './outbox-store.js';
export { OutboxPublishError, createOutboxRelay } from './outbox-relay.js';
export type { OutboxRelay, OutboxRelayOptions } from './outbox-relay.js';
export { eventTypeHeaderValue } from './outbox-batch.js';
export { startOutboxPublishing } from './outbox-publishing.js';
export type { OutboxPublishing, OutboxPublishingOptions } from './outbox-publishing.js';
