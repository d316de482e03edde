-- Weekly reports sent by serve to webhooks (reports.delivery): one row per
-- webhook and ISO week, written before the first attempt, so that a
-- restart resumes it and never sends a week twice. state is pending,
-- delivered or failed (given up).
CREATE TABLE report_deliveries (
	webhook         text    NOT NULL,
	week            text    NOT NULL,
	due_ns          bigint  NOT NULL,
	created_ns      bigint  NOT NULL,
	state           text    NOT NULL,
	attempts        integer NOT NULL,
	next_attempt_ns bigint,
	last_error      text    NOT NULL,
	updated_ns      bigint  NOT NULL,
	PRIMARY KEY (webhook, week)
);

CREATE INDEX report_deliveries_state ON report_deliveries (state, next_attempt_ns);
