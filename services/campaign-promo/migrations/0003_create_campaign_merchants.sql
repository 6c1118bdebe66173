-- Which merchants a campaign with a merchant list applies to: looked up by merchant when matching
-- a payment.
CREATE TABLE campaign_merchants (
  merchant_id VARCHAR(128) NOT NULL,
  campaign_id VARCHAR(40) NOT NULL,
  PRIMARY KEY (merchant_id, campaign_id)
);
