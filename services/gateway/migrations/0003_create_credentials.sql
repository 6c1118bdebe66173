-- Bearer credentials (user tokens, merchant API keys): only the SHA-256 of each random secret is
-- kept, as 64 hex characters; the secret itself is shown once, when its party is created.
CREATE TABLE credentials (
  token_hash CHAR(64) NOT NULL PRIMARY KEY,
  party_type VARCHAR(16) NOT NULL,
  party_id VARCHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  KEY credentials_party (party_id)
);
