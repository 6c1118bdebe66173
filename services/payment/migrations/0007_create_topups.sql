-- Top-ups of a user's wallet from a linked bank account or a registered card. A row is created
-- PROCESSING together with the idempotency key it answers, the bank-integration charge id and
-- the ledger transfer id it will use (both derived from topup_id), then driven to COMPLETED
-- (the wallet was credited from bank-settlement or card-settlement) or FAILED (nothing was
-- credited). source_id is a bank account id or a card id (never a card number).
-- last_transfer_at is when a charge or the credit was last sent; the sweep columns let the
-- retrier claim PROCESSING rows with an UPDATE ... LIMIT (no SKIP LOCKED).
CREATE TABLE topups (
  topup_id VARCHAR(40) NOT NULL,
  idempotency_caller_id VARCHAR(128) NOT NULL,
  idempotency_key VARCHAR(255) NOT NULL,
  user_id VARCHAR(128) NOT NULL,
  account_id VARCHAR(128) NOT NULL,
  settlement_account_id VARCHAR(128) NOT NULL,
  amount BIGINT NOT NULL,
  currency CHAR(3) NOT NULL,
  source_kind VARCHAR(16) NOT NULL,
  source_id VARCHAR(128) NOT NULL,
  client_ip VARCHAR(64) NULL,
  status VARCHAR(16) NOT NULL,
  failure_reason VARCHAR(32) NULL,
  charge_id VARCHAR(64) NOT NULL,
  ledger_transfer_id VARCHAR(64) NOT NULL,
  traceparent VARCHAR(55) NULL,
  tracestate VARCHAR(512) NULL,
  created_at DATETIME(3) NOT NULL,
  finished_at DATETIME(3) NULL,
  last_transfer_at DATETIME(3) NOT NULL,
  next_sweep_at DATETIME(3) NOT NULL,
  sweep_claim CHAR(36) NULL,
  sweep_attempts INT NOT NULL DEFAULT 0,
  PRIMARY KEY (topup_id),
  UNIQUE KEY topups_idempotency (idempotency_caller_id, idempotency_key),
  UNIQUE KEY topups_charge (charge_id),
  UNIQUE KEY topups_ledger_transfer (ledger_transfer_id),
  KEY topups_user (user_id),
  KEY topups_sweep (status, next_sweep_at)
);
