-- Users of the public API. Ids are opaque random strings (usr_…), never monotonic, so inserts
-- spread over TiDB regions. The ledger accounts are opened before the row is written.
CREATE TABLE users (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  display_name VARCHAR(100) NOT NULL,
  wallet_account_id VARCHAR(64) NOT NULL,
  points_account_id VARCHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL
);
