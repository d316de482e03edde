-- How many of an alert's deliveries were webhook notifications (source
-- 'webhook'): the first, each repeat and the resolution, never an API pull
-- (alerts.pull), which deliveries counts too. alertUpsertTail counts it
-- from here on.
--
-- The rows stored before know only their deliveries and the source of
-- their first receipt, so their count is as near as can be known:
--   - first received by webhook: every delivery, though pulls that came
--     after the first notification are among them (only with alerts.pull);
--   - first pulled and never notified (no receiver, which a notification
--     fills in): none;
--   - first pulled, then notified: every delivery but the first, at least
--     one, later pulls again among them.
ALTER TABLE alerts ADD COLUMN notifications INTEGER NOT NULL DEFAULT 0;

UPDATE alerts SET notifications = CASE
	WHEN source = 'webhook' THEN deliveries
	WHEN receiver = '' THEN 0
	ELSE max(deliveries - 1, 1)
END;
