export { OUTBOX_DDL, enqueueOutboxEvent } from './outbox-store.js';
export type { OutboxEvent } from './outbox-store.js';
export { OutboxPublishError, createOutboxRelay } from './outbox-relay.js';
export type { OutboxRelay, OutboxRelayOptions } from './outbox-relay.js';
export { eventTypeHeaderValue } from './outbox-batch.js';
