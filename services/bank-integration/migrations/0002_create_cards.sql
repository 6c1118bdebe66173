-- The card vault. The number (PAN) is only here encrypted: AES-256-GCM under the vault key named
-- by pan_key_id (keys rotate: a row stays readable under its own key until re-sealed), with the
-- card id as additional data so a ciphertext cannot be moved to another row. fingerprint is an
-- HMAC-SHA256 of the number under CARD_FINGERPRINT_SECRET: the same card across users, for
-- fraud's per-card lockout. Only brand and last4 are in the clear. The CVC is never stored.
CREATE TABLE cards (
  card_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(128) NOT NULL,
  brand VARCHAR(16) NOT NULL,
  last4 CHAR(4) NOT NULL,
  exp_month TINYINT NOT NULL,
  exp_year SMALLINT NOT NULL,
  fingerprint CHAR(64) NOT NULL,
  pan_key_id VARCHAR(32) NOT NULL,
  pan_iv VARBINARY(12) NOT NULL,
  pan_ciphertext VARBINARY(32) NOT NULL,
  pan_tag VARBINARY(16) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (card_id),
  UNIQUE KEY cards_user_fingerprint (user_id, fingerprint),
  KEY cards_pan_key (pan_key_id)
);
