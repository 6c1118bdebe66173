-- The deferred-cashback retry queue: one row per payment whose grant must be made later (from a
-- CashbackDeferred on cashback.v1, or a PaymentCompleted with cashback PENDING on payments.v1),
-- written by the consumer in the transaction that records the event as processed. The retry
-- worker claims due rows with an UPDATE ... LIMIT, counts the attempt, and on failure pushes
-- next_attempt_at out with exponential backoff; after the last attempt the row turns DEAD and its
-- event goes to cashback.v1.dlq through the outbox. A replayed event revives a DEAD row.
CREATE TABLE deferred_grants (
  payment_id VARCHAR(64) NOT NULL,
  user_id VARCHAR(128) NOT NULL,
  points_account_id VARCHAR(128) NULL,
  merchant_id VARCHAR(128) NOT NULL,
  amount BIGINT NOT NULL,
  currency CHAR(3) NOT NULL,
  paid_at DATETIME(3) NOT NULL,
  reason VARCHAR(32) NOT NULL,
  source_topic VARCHAR(128) NOT NULL,
  source_partition INT NOT NULL,
  source_offset VARCHAR(20) NOT NULL,
  source_event_id VARCHAR(64) NOT NULL,
  source_event_type VARCHAR(64) NOT NULL,
  source_key VARCHAR(128) NULL,
  source_value MEDIUMBLOB NULL,
  traceparent VARCHAR(55) NULL,
  tracestate VARCHAR(512) NULL,
  state VARCHAR(16) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  last_error VARCHAR(512) NULL,
  next_attempt_at DATETIME(3) NOT NULL,
  claim CHAR(36) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (payment_id),
  KEY deferred_grants_due (state, next_attempt_at)
);
