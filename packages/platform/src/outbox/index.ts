export { OUTBOX_DDL, enqueueOutboxEvent } from './outbox-store.js';
export type { OutboxEvent } from './outbox-store.js';
