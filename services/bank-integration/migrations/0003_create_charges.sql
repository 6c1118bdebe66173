-- Money pulled from a linked bank account or a stored card. charge_id is chosen by the caller
-- (payment derives it from the top-up or payment id) and is the idempotency key sent to the bank
-- or issuer: one row per id, a repeat answers the row. A row is written PENDING before the bank
-- is asked and turns APPROVED or DECLINED with its answer; PENDING stays while the answer is
-- unknown, and GetCharge asks again with the same key. Money is BIGINT yen.
CREATE TABLE charges (
  charge_id VARCHAR(128) NOT NULL,
  user_id VARCHAR(128) NOT NULL,
  amount BIGINT NOT NULL,
  currency CHAR(3) NOT NULL,
  bank_account_id VARCHAR(40) NULL,
  card_id VARCHAR(40) NULL,
  purpose VARCHAR(16) NOT NULL,
  client_ip VARCHAR(64) NOT NULL,
  status VARCHAR(16) NOT NULL,
  decline_reason VARCHAR(32) NULL,
  authorization_code VARCHAR(64) NULL,
  refunded_amount BIGINT NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL,
  finished_at DATETIME(3) NULL,
  PRIMARY KEY (charge_id),
  KEY charges_user (user_id, created_at)
);
