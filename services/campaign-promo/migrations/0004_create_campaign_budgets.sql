-- The durable budget of each campaign: `granted` (net of clawbacks) only grows through
-- `UPDATE ... SET granted = granted + ? WHERE campaign_id = ? AND granted + ? <= budget`, in the
-- transaction that records the grant, so no interleaving can take it past `budget`.
CREATE TABLE campaign_budgets (
  campaign_id VARCHAR(40) NOT NULL,
  budget BIGINT NOT NULL,
  granted BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (campaign_id)
);
