-- The fleet's utilization is read from the running intervals: each keeps
-- the GPUs it ran with, so a pod scaled since counts as it was then.
-- Intervals recorded before are given their pod's count.
ALTER TABLE pod_usage ADD COLUMN gpu_count INTEGER NOT NULL DEFAULT 0;
UPDATE pod_usage SET gpu_count = pods.gpu_count FROM pods WHERE pods.id = pod_usage.pod_id;
-- A window of hours reads the intervals still open or ended after it
-- began, not every interval the tenant ever had.
CREATE INDEX pod_usage_tenant_end ON pod_usage (tenant_id, ended_at);
