-- How each incident was detected (chaos.Detection), written only by
-- SetDetection, never by the tracker's saves. Undecided is detected_at_ns
-- NULL and undetected false; a detection, once set, is final.
ALTER TABLE incidents
	ADD COLUMN detected_at_ns       bigint,
	ADD COLUMN detected_alert       text    NOT NULL DEFAULT '',
	ADD COLUMN detected_fingerprint text    NOT NULL DEFAULT '',
	ADD COLUMN undetected           boolean NOT NULL DEFAULT false;

-- The detector lists the undecided incidents every sweep: few, once decided.
CREATE INDEX incidents_undecided_start ON incidents (start_ns, id)
	WHERE detected_at_ns IS NULL AND NOT undetected;
