-- Two entries per posting: a debit (negative amount) on the from account and a credit on the to
-- account, each with the account's balance right after it. account_sequence is the account's
-- version after the entry: unique per account, it orders history and pages it (newest first).
-- kind, reference_id and description are copied from the transfer so history needs no join.
CREATE TABLE IF NOT EXISTS entries (
  entry_id VARCHAR(40) NOT NULL,
  account_id VARCHAR(40) NOT NULL,
  account_sequence BIGINT NOT NULL,
  transfer_id VARCHAR(128) NOT NULL,
  posting_index INT NOT NULL,
  counterparty_account_id VARCHAR(40) NOT NULL,
  amount BIGINT NOT NULL,
  currency VARCHAR(8) NOT NULL,
  balance_after BIGINT NOT NULL,
  kind VARCHAR(32) NOT NULL,
  reference_id VARCHAR(128) NOT NULL,
  description VARCHAR(512) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (entry_id) /*T![clustered_index] CLUSTERED */,
  UNIQUE KEY entries_by_account (account_id, account_sequence),
  KEY entries_by_transfer (transfer_id, posting_index)
);
