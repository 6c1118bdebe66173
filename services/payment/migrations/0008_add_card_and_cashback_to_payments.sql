-- Card payments and cashback. card_id/card_fingerprint/charge_id are set for method CARD only
-- (a card id and the fingerprint bank-integration gave, never a card number); charge_id is the
-- bank-integration charge derived from payment_id. funding_account_id is the account the ledger
-- transfer debits: the payer's wallet, or card-settlement for a card payment (NULL on rows
-- from before: the payer's wallet). points_account_id is where cashback goes, looked up when
-- the payment is created; cashback_campaign_id is set when cashback was GRANTED.
ALTER TABLE payments
  ADD COLUMN card_id VARCHAR(64) NULL,
  ADD COLUMN card_fingerprint VARCHAR(128) NULL,
  ADD COLUMN charge_id VARCHAR(64) NULL,
  ADD COLUMN funding_account_id VARCHAR(128) NULL,
  ADD COLUMN points_account_id VARCHAR(128) NULL,
  ADD COLUMN cashback_campaign_id VARCHAR(64) NULL;
