-- Accounts and their running balances. account_id is random ("acc_" + 24 hex), so the clustered
-- primary key spreads writes over the cluster; the unique owner key makes OpenAccount idempotent.
-- balance is BIGINT minor units of currency; version counts the account's entries (the cache and
-- history cursors order by it). Only system accounts may overdraft.
CREATE TABLE IF NOT EXISTS accounts (
  account_id VARCHAR(40) NOT NULL,
  owner_type VARCHAR(16) NOT NULL,
  owner_id VARCHAR(128) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  currency VARCHAR(8) NOT NULL,
  overdraft_allowed BOOLEAN NOT NULL,
  balance BIGINT NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (account_id) /*T![clustered_index] CLUSTERED */,
  UNIQUE KEY accounts_by_owner (owner_type, owner_id, kind, currency)
);
