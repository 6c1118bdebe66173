-- One row per payment (the payment id is the primary key, so a payment is granted at most once):
-- GRANTED with its campaign and points, or NONE. A GRANTED row is recorded with ledger_state
-- PENDING in the transaction that takes its points from the campaign budget, and turns CREDITED
-- once the ledger applied the transfer `cashback_<payment_id>` (idempotent: a crash in between is
-- recovered by sending the same transfer again). The sweep columns let the retry worker claim
-- rows still PENDING with an UPDATE ... LIMIT (no SKIP LOCKED).
CREATE TABLE cashback_grants (
  payment_id VARCHAR(64) NOT NULL,
  status VARCHAR(16) NOT NULL,
  campaign_id VARCHAR(40) NULL,
  points BIGINT NOT NULL DEFAULT 0,
  clawed_back_points BIGINT NOT NULL DEFAULT 0,
  user_id VARCHAR(128) NOT NULL,
  points_account_id VARCHAR(128) NULL,
  campaign_account_id VARCHAR(128) NULL,
  merchant_id VARCHAR(128) NOT NULL,
  amount BIGINT NOT NULL,
  currency CHAR(3) NOT NULL,
  paid_at DATETIME(3) NOT NULL,
  ledger_transfer_id VARCHAR(80) NULL,
  ledger_state VARCHAR(16) NOT NULL,
  deferred TINYINT(1) NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL,
  granted_at DATETIME(3) NULL,
  next_sweep_at DATETIME(3) NOT NULL,
  sweep_claim CHAR(36) NULL,
  sweep_attempts INT NOT NULL DEFAULT 0,
  PRIMARY KEY (payment_id),
  KEY cashback_grants_sweep (ledger_state, next_sweep_at),
  KEY cashback_grants_by_campaign (campaign_id)
);
