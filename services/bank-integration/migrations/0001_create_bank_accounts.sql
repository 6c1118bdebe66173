-- Bank accounts users linked for top-ups. The account number is kept (a debit needs it);
-- answers show its last four digits only. Ids are random strings (no write hot spot). Linking
-- the same account again answers the row already there.
CREATE TABLE bank_accounts (
  bank_account_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(128) NOT NULL,
  bank_code CHAR(4) NOT NULL,
  account_number CHAR(7) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (bank_account_id),
  UNIQUE KEY bank_accounts_user_account (user_id, bank_code, account_number)
);
