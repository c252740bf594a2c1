-- Placeholder for migration 0012, which another branch adds; dropped at merge.
SELECT 1;
