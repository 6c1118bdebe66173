-- Merchants of the public API (mch_…), with the ledger account payments to them are credited to.
CREATE TABLE merchants (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  mcc CHAR(4) NOT NULL DEFAULT '',
  account_id VARCHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL
);
