-- One row per applied transfer. The primary key on the caller's transfer_id is what makes a
-- transfer apply at most once; fingerprint (SHA-256 of kind, reference and postings) tells a
-- replay from a reuse of the id. The postings themselves are the transfer's entries.
CREATE TABLE IF NOT EXISTS transfers (
  transfer_id VARCHAR(128) NOT NULL,
  kind VARCHAR(32) NOT NULL,
  reference_id VARCHAR(128) NOT NULL,
  description VARCHAR(512) NOT NULL,
  posting_count INT NOT NULL,
  fingerprint CHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (transfer_id) /*T![clustered_index] CLUSTERED */
);
