-- The weekly report's alert figures per service, in SQLite's SQL alone: the
-- floor report.Weekly is compared with (docs/benchmarks.md, "Weekly
-- report"). It follows report/doc.go: alerts read from @span (the previous
-- week's start minus the lookback) to @to; firing in [@from, @to) if started
-- before @to and not resolved by @from (or started in it); silenced = known
-- only from the API; time to resolution of the alerts resolved in the range,
-- median and p90 by nearest rank; noisy = resolved within @noisy of its
-- start and joined to no incident; flapping = fingerprints firing @flap
-- times or more. Durations in nanoseconds.
--
-- Parameters (.param set): @from, @to, @span (Unix ns), @noisy (ns), @flap.
WITH a AS (
	SELECT fingerprint AS fp, starts_at_ns AS s, received_at_ns AS r,
		coalesce(nullif(labels ->> 'service', ''), nullif(labels ->> 'app_kubernetes_io_name', ''),
			nullif(labels ->> 'app', ''), '(no service)') AS svc,
		source = 'api' AND receiver = '' AS hidden,
		CASE WHEN status <> 'resolved' THEN NULL
			WHEN ends_at_ns IS NULL OR ends_at_ns < starts_at_ns THEN starts_at_ns
			ELSE ends_at_ns END AS e
	FROM alerts
	WHERE starts_at_ns >= @span AND starts_at_ns < @to
),
-- The joined alerts' keys, one column: a row-value IN (fp, s) is
-- searched linearly, a single value through an index.
j AS (
	SELECT detected_fingerprint || '@' || detected_at_ns AS k FROM incidents
	WHERE start_ns >= @span AND start_ns < @to AND detected_at_ns IS NOT NULL
),
active AS (
	SELECT fp, svc, hidden, s, e,
		NOT hidden AND (fp || '@' || s IN (SELECT k FROM j) OR fp || '@' || r IN (SELECT k FROM j)) AS joined
	FROM a
	WHERE e IS NULL OR e > @from OR s >= @from
),
counts AS (
	SELECT svc, sum(NOT hidden) AS firing, sum(hidden) AS silenced,
		sum(NOT hidden AND (e IS NULL OR e >= @to)) AS open,
		sum(NOT hidden AND e IS NOT NULL AND e - s <= @noisy AND NOT joined) AS noisy
	FROM active GROUP BY svc
),
flaps AS (
	SELECT svc, count(*) AS flapping FROM (
		SELECT svc FROM active WHERE NOT hidden GROUP BY svc, fp HAVING count(*) >= @flap
	) GROUP BY svc
),
ttr AS (
	SELECT svc, e - s AS d,
		row_number() OVER (PARTITION BY svc ORDER BY e - s) AS rn,
		count(*) OVER (PARTITION BY svc) AS n
	FROM a WHERE NOT hidden AND e IS NOT NULL AND e >= @from AND e < @to
),
ttrs AS (
	SELECT svc, max(n) AS n,
		max(CASE WHEN rn = max(1, (50 * n + 99) / 100) THEN d END) AS median,
		max(CASE WHEN rn = max(1, (90 * n + 99) / 100) THEN d END) AS p90,
		max(d) AS max
	FROM ttr GROUP BY svc
),
names AS (SELECT svc FROM counts UNION SELECT svc FROM ttrs)
SELECT names.svc AS service,
	coalesce(firing, 0) AS firing, coalesce(silenced, 0) AS silenced, coalesce(open, 0) AS open,
	coalesce(noisy, 0) AS noisy, coalesce(flapping, 0) AS flapping,
	coalesce(n, 0) AS ttr_samples, coalesce(median, 0) AS ttr_median_ns,
	coalesce(p90, 0) AS ttr_p90_ns, coalesce(ttrs.max, 0) AS ttr_max_ns
FROM names
LEFT JOIN counts USING (svc)
LEFT JOIN flaps USING (svc)
LEFT JOIN ttrs USING (svc)
ORDER BY names.svc;
