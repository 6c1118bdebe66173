-- What became of the cashback granted on a completed refund's share: NONE (the payment had no
-- cashback), CLAWED_BACK (campaign-promo answered inline; clawed_back_points holds the points)
-- or DEFERRED (not answered inline: campaign-promo claws it back from the PaymentRefunded event,
-- idempotently by refund id).
ALTER TABLE refunds ADD COLUMN clawback_status VARCHAR(16) NOT NULL DEFAULT 'NONE';
