-- The console's health page counts the webhook events received in the
-- last hours and finds the latest: by time, not by a scan of every event
-- ever received.
CREATE INDEX processor_events_received ON processor_events (received_at);
