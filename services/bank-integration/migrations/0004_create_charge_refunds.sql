-- Refunds of approved charges, at most one per refund_id (chosen by the caller, the idempotency
-- key sent to the bank or issuer). A refund is reserved on its charge (refunded_amount) in the
-- transaction that writes it PENDING, so refunds never exceed the charge; it turns COMPLETED
-- once the bank or issuer confirms, and a repeat of the same refund_id asks again.
CREATE TABLE charge_refunds (
  refund_id VARCHAR(128) NOT NULL,
  charge_id VARCHAR(128) NOT NULL,
  amount BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  reference VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  finished_at DATETIME(3) NULL,
  PRIMARY KEY (refund_id),
  KEY charge_refunds_charge (charge_id)
);
