-- Merchant-presented QR codes Koban issued. A dynamic code's id is its EMVCo reference (tag 62,
-- sub-tag 05): a payment checks the scanned merchant and amount against the row. amount is 0
-- for a static code.
CREATE TABLE qr_codes (
  qr_code_id VARCHAR(40) NOT NULL,
  merchant_id VARCHAR(128) NOT NULL,
  merchant_account_id VARCHAR(128) NOT NULL,
  amount BIGINT NOT NULL,
  currency CHAR(3) NOT NULL,
  payload VARCHAR(512) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (qr_code_id)
);
