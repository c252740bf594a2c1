-- Failed payments (R8.8): a subscription whose payment failed is past due
-- and retried on a schedule. dunning is the schedule's state as JSON (the
-- invoice, its amount, the attempts made, when it started; '' when none);
-- dunning_next_at is when the next attempt is due, for the sweep to find.
ALTER TABLE billing_subscriptions ADD COLUMN dunning TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_subscriptions ADD COLUMN dunning_next_at TIMESTAMP;
CREATE INDEX billing_subscriptions_dunning_due ON billing_subscriptions (dunning_next_at) WHERE dunning_next_at IS NOT NULL;
-- Subscriptions whose period ended, for the Mock's renewals.
CREATE INDEX billing_subscriptions_period_end ON billing_subscriptions (period_end) WHERE status <> 'canceled';
