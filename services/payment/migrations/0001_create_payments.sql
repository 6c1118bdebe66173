-- Wallet payments to merchants. A row is created PENDING together with the idempotency key it
-- answers and the ledger transfer id it will use, then driven to COMPLETED, DECLINED or FAILED.
-- Money is BIGINT yen. Ids are random strings (no write hot spot). The sweep columns let the
-- sweeper claim stuck PENDING rows with an UPDATE ... LIMIT (no SKIP LOCKED).
CREATE TABLE payments (
  payment_id VARCHAR(40) NOT NULL,
  idempotency_caller_id VARCHAR(128) NOT NULL,
  idempotency_key VARCHAR(255) NOT NULL,
  payer_user_id VARCHAR(128) NOT NULL,
  payer_account_id VARCHAR(128) NOT NULL,
  merchant_id VARCHAR(128) NOT NULL,
  merchant_account_id VARCHAR(128) NOT NULL,
  amount BIGINT NOT NULL,
  currency CHAR(3) NOT NULL,
  method VARCHAR(16) NOT NULL,
  qr_code_id VARCHAR(40) NULL,
  client_ip VARCHAR(64) NULL,
  status VARCHAR(16) NOT NULL,
  decline_reason VARCHAR(32) NULL,
  ledger_transfer_id VARCHAR(64) NOT NULL,
  refunded_amount BIGINT NOT NULL DEFAULT 0,
  refund_reserved_amount BIGINT NOT NULL DEFAULT 0,
  cashback_status VARCHAR(16) NOT NULL,
  cashback_points BIGINT NOT NULL DEFAULT 0,
  traceparent VARCHAR(55) NULL,
  tracestate VARCHAR(512) NULL,
  created_at DATETIME(3) NOT NULL,
  finished_at DATETIME(3) NULL,
  last_transfer_at DATETIME(3) NOT NULL,
  next_sweep_at DATETIME(3) NOT NULL,
  sweep_claim CHAR(36) NULL,
  sweep_attempts INT NOT NULL DEFAULT 0,
  PRIMARY KEY (payment_id),
  UNIQUE KEY payments_idempotency (idempotency_caller_id, idempotency_key),
  UNIQUE KEY payments_ledger_transfer (ledger_transfer_id),
  KEY payments_sweep (status, next_sweep_at)
);
