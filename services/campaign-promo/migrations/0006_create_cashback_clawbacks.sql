-- One row per refund (the refund id is the idempotency key). The points are computed under a
-- lock on the payment's grant from the cumulative refunded share, so clawbacks never add up to
-- more than was granted. PENDING until the ledger applied `clawback_<refund_id>` (user points →
-- campaign account); the points go back to the campaign budget only then (DONE). AWAITING_GRANT:
-- the refund came before the payment's (deferred) grant was recorded; settled once it is.
CREATE TABLE cashback_clawbacks (
  refund_id VARCHAR(64) NOT NULL,
  payment_id VARCHAR(64) NOT NULL,
  campaign_id VARCHAR(40) NULL,
  points BIGINT NOT NULL DEFAULT 0,
  payment_amount BIGINT NOT NULL,
  total_refunded_amount BIGINT NOT NULL,
  ledger_transfer_id VARCHAR(80) NULL,
  state VARCHAR(16) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  finished_at DATETIME(3) NULL,
  next_sweep_at DATETIME(3) NOT NULL,
  sweep_claim CHAR(36) NULL,
  sweep_attempts INT NOT NULL DEFAULT 0,
  PRIMARY KEY (refund_id),
  KEY cashback_clawbacks_by_payment (payment_id),
  KEY cashback_clawbacks_sweep (state, next_sweep_at)
);
