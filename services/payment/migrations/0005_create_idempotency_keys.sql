-- Idempotency keys, the durable truth behind the Redis fast path. The primary key is the unique
-- (caller_id, idempotency_key): one INSERT wins per key. A row holds the digest of the request,
-- the owner's lease, the resource it created and, once done, the encoded response a replay
-- answers. Kept until expires_at (at least 24 h after use), then purged by the sweeper.
CREATE TABLE idempotency_keys (
  caller_id VARCHAR(128) NOT NULL,
  idempotency_key VARCHAR(255) NOT NULL,
  operation VARCHAR(32) NOT NULL,
  request_hash CHAR(64) NOT NULL,
  state VARCHAR(16) NOT NULL,
  owner CHAR(36) NOT NULL,
  lease_until DATETIME(3) NOT NULL,
  resource_id VARCHAR(40) NULL,
  response MEDIUMBLOB NULL,
  created_at DATETIME(3) NOT NULL,
  completed_at DATETIME(3) NULL,
  expires_at DATETIME(3) NOT NULL,
  PRIMARY KEY (caller_id, idempotency_key),
  KEY idempotency_keys_expiry (expires_at)
);
