-- Card-check lockouts (API.md, "Default limits"): one row per locked subject, the latest lock.
-- A lock holds while locked_until is in the future; a later lock of the same subject replaces
-- an expired one. The source of truth: Redis only caches it, so a lock survives a restart of
-- the service and a Redis flush. Keys: user id, card fingerprint (never a number), client IP.
CREATE TABLE IF NOT EXISTS lockouts (
  subject_type VARCHAR(8) NOT NULL,
  subject_key VARCHAR(128) NOT NULL,
  locked_until DATETIME(3) NOT NULL,
  reason VARCHAR(32) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (subject_type, subject_key)
);

-- Every counted card-check failure, one row per counter it feeds (user, card, IP). Redis holds
-- the sliding windows; this journal counts instead while Redis is down, and refills a window
-- Redis forgot (flush, eviction, restart). Rows older than the window are pruned per subject.
-- The id is random (no TiDB hot spot) and is also the window's member in Redis.
CREATE TABLE IF NOT EXISTS card_check_failures (
  id CHAR(36) NOT NULL,
  subject_type VARCHAR(8) NOT NULL,
  subject_key VARCHAR(128) NOT NULL,
  result VARCHAR(16) NOT NULL,
  failed_at DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  KEY card_check_failures_subject (subject_type, subject_key, failed_at)
);
