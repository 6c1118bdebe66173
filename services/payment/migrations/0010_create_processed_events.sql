-- Events this service has applied (campaign-promo's CashbackGranted, which settles a PENDING
-- cashback), written in the same transaction as their effect, so a redelivered Kafka event is
-- recognised and skipped (exactly-once in effect). processed_at lets old rows be purged.
CREATE TABLE IF NOT EXISTS processed_events (
  consumer_group VARCHAR(128) NOT NULL,
  event_id VARCHAR(64) NOT NULL,
  processed_at DATETIME(3) NOT NULL,
  PRIMARY KEY (consumer_group, event_id),
  KEY processed_events_by_time (processed_at)
);
