-- How each incident was detected (chaos.Detection), written only by
-- SetDetection, never by the tracker's saves. Undecided is detected_at_ns
-- NULL and undetected false; a detection, once set, is final.
ALTER TABLE incidents ADD COLUMN detected_at_ns INTEGER;
ALTER TABLE incidents ADD COLUMN detected_alert TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN detected_fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN undetected INTEGER NOT NULL DEFAULT 0;

-- The detector lists the undecided incidents every sweep: few, once decided.
CREATE INDEX incidents_undecided_start ON incidents (start_ns, id)
	WHERE detected_at_ns IS NULL AND NOT undetected;
