-- Per-user features kept from the completed payments of `payments.v1` (consumer group
-- fraud-features), each updated in the transaction that records the event in processed_events.
-- The amount profile: how many payments, and an exponentially weighted mean and variance of
-- their amounts. DOUBLE holds statistics of amounts, never money (money stays BIGINT).
CREATE TABLE IF NOT EXISTS user_profiles (
  user_id VARCHAR(64) NOT NULL,
  payments BIGINT NOT NULL,
  amount_mean DOUBLE NOT NULL,
  amount_variance DOUBLE NOT NULL,
  last_amount BIGINT NULL,
  last_paid_at DATETIME(3) NULL,
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (user_id)
);

-- The merchants each user has paid ("new merchant" for a user with a history).
CREATE TABLE IF NOT EXISTS user_merchants (
  user_id VARCHAR(64) NOT NULL,
  merchant_id VARCHAR(64) NOT NULL,
  payments BIGINT NOT NULL,
  first_paid_at DATETIME(3) NOT NULL,
  last_paid_at DATETIME(3) NOT NULL,
  PRIMARY KEY (user_id, merchant_id)
);

-- The cards (by fingerprint, never a number) each user has paid with ("new card"); the
-- fingerprint of a completed payment is the one it was scored with.
CREATE TABLE IF NOT EXISTS user_cards (
  user_id VARCHAR(64) NOT NULL,
  card_fingerprint VARCHAR(128) NOT NULL,
  payments BIGINT NOT NULL,
  first_paid_at DATETIME(3) NOT NULL,
  last_paid_at DATETIME(3) NOT NULL,
  PRIMARY KEY (user_id, card_fingerprint)
);

-- What a decision was made on besides the user's velocity: the method, the card and client IP
-- it was scored with, and every feature as JSON text (NULL for decisions recorded before).
ALTER TABLE fraud_decisions ADD COLUMN method VARCHAR(8) NULL;
ALTER TABLE fraud_decisions ADD COLUMN card_fingerprint VARCHAR(128) NULL;
ALTER TABLE fraud_decisions ADD COLUMN client_ip VARCHAR(64) NULL;
ALTER TABLE fraud_decisions ADD COLUMN features TEXT NULL;
