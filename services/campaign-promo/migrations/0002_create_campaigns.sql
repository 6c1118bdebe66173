-- Campaigns: immutable once created. Ids are random strings (no write hot spot). The merchant
-- list is kept twice: as JSON text for display, and as rows in campaign_merchants for matching.
CREATE TABLE campaigns (
  campaign_id VARCHAR(40) NOT NULL,
  name VARCHAR(200) NOT NULL,
  cashback_bps INT NOT NULL,
  max_points_per_payment BIGINT NOT NULL,
  budget_points BIGINT NOT NULL,
  starts_at DATETIME(3) NOT NULL,
  ends_at DATETIME(3) NOT NULL,
  all_merchants TINYINT(1) NOT NULL,
  merchant_ids TEXT NOT NULL,
  ledger_account_id VARCHAR(128) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (campaign_id),
  KEY campaigns_newest (created_at, campaign_id),
  KEY campaigns_window (ends_at, starts_at)
);
