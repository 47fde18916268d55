-- OPSG Metrics: the measures of request records, the one definition.
--
-- Written in DuckDB's dialect; DuckDB runs it as it is, Spark runs it transpiled by sqlglot
-- (rules/events.py). Each block below is one query, introduced by "-- query: name"; a block may use an
-- earlier one as {name}. Two placeholders: {events}, the request records (the stored columns of
-- store/events.py: month, measure, provider, day, response_us, target_seconds, outcome, exclusion), and
-- {period}, what a row of the result is for: the month ('YYYY-MM') or the day ('YYYY-MM-DD').
--
-- The rule (README, "Measures from request records"): in scope = the requests without an exclusion;
-- within = the in-scope requests whose outcome is `completed` and whose response time (completed_at -
-- received_at) is at most their target_seconds; value = 100 x within / in scope; with exclusions as
-- failures = 100 x within / (in scope + excluded). Counts are cast to BIGINT (DuckDB sums to HUGEINT,
-- Spark to BIGINT) and values computed in DOUBLE, so both engines give the same numbers.

-- query: by_reason
-- One scan of the records: per period, series and exclusion reason (NULL for none), the requests and
-- those completed within their target. (Grouped by the column itself: grouping by an expression of it,
-- coalesce(exclusion, ''), made the scan twice as slow.)
SELECT CAST({period} AS VARCHAR) AS period, measure, provider, exclusion AS reason,
       count(*) AS requests,
       count(CASE WHEN outcome = 'completed' AND response_us <= target_seconds * 1000000 THEN 1 END) AS within
FROM {events}
GROUP BY CAST({period} AS VARCHAR), measure, provider, exclusion

-- query: waterfall
-- Received, excluded, in scope, within, the value, and the value with every exclusion a failure.
WITH by_reason AS ({by_reason}),
counted AS (
    SELECT period, measure, provider,
           CAST(sum(requests) AS BIGINT) AS received,
           CAST(sum(CASE WHEN reason IS NOT NULL THEN requests ELSE 0 END) AS BIGINT) AS excluded,
           CAST(sum(CASE WHEN reason IS NULL THEN requests ELSE 0 END) AS BIGINT) AS in_scope,
           CAST(sum(CASE WHEN reason IS NULL THEN within ELSE 0 END) AS BIGINT) AS within
    FROM by_reason
    GROUP BY period, measure, provider
)
SELECT period, measure, provider, received, excluded, in_scope, within,
       CAST(within AS DOUBLE) * 100 / nullif(in_scope, 0) AS value,
       CAST(within AS DOUBLE) * 100 / nullif(received, 0) AS value_exclusions_as_failures
FROM counted
ORDER BY period, measure, provider

-- query: sensitivity
-- Each exclusion reason in turn counted as failures instead: the value it would have given.
WITH by_reason AS ({by_reason}),
scoped AS (
    SELECT period, measure, provider,
           CAST(sum(requests) AS BIGINT) AS in_scope, CAST(sum(within) AS BIGINT) AS within
    FROM by_reason WHERE reason IS NULL
    GROUP BY period, measure, provider
)
SELECT r.period, r.measure, r.provider, r.reason, CAST(r.requests AS BIGINT) AS excluded,
       CAST(coalesce(s.within, 0) AS DOUBLE) * 100 / nullif(coalesce(s.in_scope, 0) + r.requests, 0) AS value_if_failures
FROM by_reason AS r LEFT JOIN scoped AS s
  ON r.period = s.period AND r.measure = s.measure AND r.provider = s.provider
WHERE r.reason IS NOT NULL
ORDER BY r.period, r.measure, r.provider, r.reason

-- query: distribution
-- The in-scope requests' response times against their target: the share completed within 0.5, 1, 2 and
-- 5 times it, and the slowest percentiles of those that completed (discrete: a response time some
-- request had, in microseconds).
SELECT CAST({period} AS VARCHAR) AS period, measure, provider,
       count(*) AS in_scope,
       count(response_us) AS answered,
       count(CASE WHEN outcome = 'completed' AND response_us <= target_seconds * 500000 THEN 1 END) AS within_half,
       count(CASE WHEN outcome = 'completed' AND response_us <= target_seconds * 1000000 THEN 1 END) AS within_1x,
       count(CASE WHEN outcome = 'completed' AND response_us <= target_seconds * 2000000 THEN 1 END) AS within_2x,
       count(CASE WHEN outcome = 'completed' AND response_us <= target_seconds * 5000000 THEN 1 END) AS within_5x,
       CAST(percentile_disc(0.5) WITHIN GROUP (ORDER BY response_us) AS BIGINT) AS p50_us,
       CAST(percentile_disc(0.9) WITHIN GROUP (ORDER BY response_us) AS BIGINT) AS p90_us,
       CAST(percentile_disc(0.99) WITHIN GROUP (ORDER BY response_us) AS BIGINT) AS p99_us,
       CAST(percentile_disc(0.999) WITHIN GROUP (ORDER BY response_us) AS BIGINT) AS p999_us,
       max(response_us) AS max_us,
       CAST(max(target_seconds) AS DOUBLE) AS target_seconds
FROM {events}
WHERE exclusion IS NULL
GROUP BY CAST({period} AS VARCHAR), measure, provider
ORDER BY period, measure, provider
