-- The transactional outbox, exactly as @koban/platform defines it (OUTBOX_DDL): CashbackGranted,
-- CashbackClawedBack and dead-lettered deferred grants are written in the transaction of the
-- change they announce; the outbox relay publishes them.
CREATE TABLE IF NOT EXISTS outbox (
  event_id CHAR(36) NOT NULL,
  topic VARCHAR(128) NOT NULL,
  event_key VARCHAR(128) NOT NULL,
  event_type VARCHAR(64) NOT NULL,
  payload MEDIUMBLOB NOT NULL,
  traceparent VARCHAR(55) NULL,
  tracestate VARCHAR(512) NULL,
  created_at DATETIME(3) NOT NULL,
  claimed_by VARCHAR(64) NULL,
  claimed_until DATETIME(3) NULL,
  sent_at DATETIME(3) NULL,
  attempts INT NOT NULL DEFAULT 0,
  PRIMARY KEY (event_id),
  KEY outbox_unsent (sent_at, created_at)
);
