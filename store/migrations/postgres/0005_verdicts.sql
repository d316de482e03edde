-- The history of verdicts (verdict.Transition): not every judgement, which
-- serve makes each interval, but those that change the verdict before
-- them (another result, the window closing) and the final ones. A verdict
-- saved again (same hypothesis and time) replaces the row. score is NULL
-- when no metric could be judged; verdict is the verdict's compact JSON,
-- kept as text so that it reads back as written.
CREATE TABLE verdicts (
	hypothesis text             NOT NULL,
	at_ns      bigint           NOT NULL,
	result     text             NOT NULL,
	score      double precision,
	running    boolean          NOT NULL,
	final      boolean          NOT NULL,
	reason     text             NOT NULL,
	verdict    text             NOT NULL,
	PRIMARY KEY (hypothesis, at_ns)
);

CREATE INDEX verdicts_at ON verdicts (at_ns, hypothesis);
