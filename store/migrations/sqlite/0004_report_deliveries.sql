-- Weekly reports sent by serve to webhooks (reports.delivery): one row per
-- webhook and ISO week, written before the first attempt, so that a
-- restart resumes it and never sends a week twice. state is pending,
-- delivered or failed (given up).
CREATE TABLE report_deliveries (
	webhook         TEXT    NOT NULL,
	week            TEXT    NOT NULL,
	due_ns          INTEGER NOT NULL,
	created_ns      INTEGER NOT NULL,
	state           TEXT    NOT NULL,
	attempts        INTEGER NOT NULL,
	next_attempt_ns INTEGER,
	last_error      TEXT    NOT NULL,
	updated_ns      INTEGER NOT NULL,
	PRIMARY KEY (webhook, week)
) STRICT;

CREATE INDEX report_deliveries_state ON report_deliveries (state, next_attempt_ns);
