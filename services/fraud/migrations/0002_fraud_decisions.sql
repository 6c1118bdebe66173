-- One decision per payment, with the reasons and the velocity feature it was made on. The id is
-- random (no TiDB write hot spot); the unique payment id makes Score idempotent: a retried
-- payment answers the decision recorded first.
CREATE TABLE IF NOT EXISTS fraud_decisions (
  id CHAR(36) NOT NULL,
  payment_id VARCHAR(64) NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  merchant_id VARCHAR(64) NOT NULL,
  amount BIGINT NOT NULL,
  currency CHAR(3) NOT NULL,
  outcome VARCHAR(16) NOT NULL,
  score INT NOT NULL,
  reasons VARCHAR(255) NOT NULL,
  user_payments_last_minute INT NULL,
  decided_at DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY fraud_decisions_payment (payment_id),
  KEY fraud_decisions_user_time (user_id, decided_at)
);
