-- The history of verdicts (verdict.Transition): not every judgement, which
-- serve makes each interval, but those that change the verdict before
-- them (another result, the window closing) and the final ones. A verdict
-- saved again (same hypothesis and time) replaces the row. score is NULL
-- when no metric could be judged; verdict is the verdict's compact JSON.
CREATE TABLE verdicts (
	hypothesis TEXT    NOT NULL,
	at_ns      INTEGER NOT NULL,
	result     TEXT    NOT NULL,
	score      REAL,
	running    INTEGER NOT NULL,
	final      INTEGER NOT NULL,
	reason     TEXT    NOT NULL,
	verdict    TEXT    NOT NULL, -- JSON object
	PRIMARY KEY (hypothesis, at_ns)
) STRICT;

CREATE INDEX verdicts_at ON verdicts (at_ns, hypothesis);
