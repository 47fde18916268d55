-- Status, runs and rolling windows for every series and month (the rules: README "Status, runs and windows").
-- The one place these rules live. Parameters: $until (DATE, last month to
-- compute); {window_rows} (the rolling window minus one, an integer inserted by
-- status.py after validation, because a window frame cannot take a parameter).
--
-- Runs are gaps-and-islands: a month that ends a run (met, for runs below
-- target) starts a new island; the run at month t is the number of misses in
-- t's island up to t. no_data months belong to the island without adding to
-- it, so they neither extend nor end a run. Every series has one row per
-- calendar month from its first figure to $until, so "N rows back" is "N
-- months back" and a run's span in months minus its length is its gap count.
--
-- An inferred figure (figure_status 'inferred': a value deduced, not reported)
-- takes its status from its value, like an unreliable one, and carries
-- inferred = true. Runs and windows count reported months only, so for them an
-- inferred month is like a no_data month: it neither adds to nor ends a run
-- (below target or minimum), counts in run_gap_months, is neither a miss nor a
-- month with data in the window, and is not a previous miss.
WITH series AS (
    -- sid: a small integer naming the series, for the windows to partition on (cheaper than two strings).
    SELECT measure, provider, name, unit, direction, sort_order,
           row_number() OVER (ORDER BY measure, provider)::INTEGER AS sid
    FROM measures
),
first_months AS (
    SELECT s.sid, s.measure, s.provider,
           coalesce(min(v.month), (SELECT min(month) FROM measure_values), $until::DATE) AS first_month
    FROM series AS s
    LEFT JOIN measure_values AS v USING (measure, provider)
    GROUP BY s.sid, s.measure, s.provider
),
calendar AS (
    SELECT sid, measure, provider,
           unnest(generate_series(first_month, $until::DATE, INTERVAL 1 MONTH))::DATE AS month
    FROM first_months
),
figures AS (
    SELECT c.sid, c.month, c.measure, c.provider, s.name, s.unit, s.direction, s.sort_order,
           v.value, v.status AS figure_status, v.numerator, v.denominator, v.note,
           v.source_id, coalesce(v.revision_count, 0) AS revision_count,
           l.target, l.minimum, l.verified AS level_verified, l.source AS level_source
    FROM calendar AS c
    JOIN series AS s ON s.sid = c.sid
    LEFT JOIN current_measure_values AS v
           ON v.month = c.month AND v.measure = c.measure AND v.provider = c.provider
    LEFT JOIN service_levels_in_force AS l
           ON l.measure = c.measure AND l.provider = c.provider
          AND c.month >= l.effective_from AND c.month < l.effective_until
),
classified AS (
    SELECT *,
           CASE
               -- No level in force: the figure cannot be judged, so it counts as no data
               -- (level_missing says why); the contract knows only these four statuses.
               WHEN value IS NULL OR target IS NULL THEN 'no_data'
               WHEN (direction = 'higher' AND value >= target) OR (direction = 'lower' AND value <= target) THEN 'met'
               WHEN (direction = 'higher' AND value >= minimum) OR (direction = 'lower' AND value <= minimum) THEN 'below_target'
               ELSE 'below_minimum'
           END AS status
    FROM figures
),
counted AS (
    -- The status runs and windows see: an inferred figure counts as no data. Only the series, the
    -- month and this status go through the windows (a window carries every column it is given, and
    -- sorting 30 columns cost more than the windows); the result is joined back to the figures.
    SELECT sid, month,
           CASE WHEN figure_status = 'inferred' THEN 'no_data' ELSE status END AS run_status
    FROM classified
),
flagged AS (
    SELECT sid, month,
           (run_status IN ('below_target', 'below_minimum'))::INTEGER AS is_miss,
           (run_status = 'below_minimum')::INTEGER AS is_below_minimum,
           (run_status IN ('met', 'below_target', 'below_minimum'))::INTEGER AS has_data,
           sum((run_status = 'met')::INTEGER) OVER running AS target_island,
           sum((run_status IN ('met', 'below_target'))::INTEGER) OVER running AS minimum_island
    FROM counted
    WINDOW running AS (PARTITION BY sid ORDER BY month ROWS UNBOUNDED PRECEDING)
),
runs AS (
    SELECT sid, month,
           sum(is_miss) OVER in_target_island AS run_below_target,
           min(CASE WHEN is_miss = 1 THEN month END) OVER in_target_island AS run_start,
           sum(is_below_minimum) OVER in_minimum_island AS run_below_minimum,
           min(CASE WHEN is_below_minimum = 1 THEN month END) OVER in_minimum_island AS run_below_minimum_start,
           sum(is_miss) OVER rolling AS misses_in_window,
           sum(has_data) OVER rolling AS window_months,
           -- The last miss before this month: for "below target for the first time since ...".
           max(CASE WHEN is_miss = 1 THEN month END) OVER before_this AS previous_miss_month
    FROM flagged
    WINDOW in_target_island AS (PARTITION BY sid, target_island ORDER BY month ROWS UNBOUNDED PRECEDING),
           in_minimum_island AS (PARTITION BY sid, minimum_island ORDER BY month ROWS UNBOUNDED PRECEDING),
           rolling AS (PARTITION BY sid ORDER BY month ROWS BETWEEN {window_rows} PRECEDING AND CURRENT ROW),
           before_this AS (PARTITION BY sid ORDER BY month ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
)
SELECT c.month, c.measure, c.provider, c.name, c.unit, c.direction,
       c.value, c.numerator, c.denominator, c.target, c.minimum,
       coalesce(c.level_verified, FALSE) AS level_verified, c.level_source,
       c.status, coalesce(c.figure_status, 'absent') AS figure_status,
       coalesce(c.figure_status = 'unreliable', FALSE) AS unreliable,
       coalesce(c.figure_status = 'inferred', FALSE) AS inferred,
       (c.value IS NOT NULL AND c.target IS NULL) AS level_missing,
       c.revision_count > 1 AS revised, c.revision_count,
       coalesce(c.note, '') AS note, src.label AS source, src.issued_on AS source_issued_on,
       src.classification AS classification, c.source_id,
       r.run_below_target::INTEGER AS run_below_target,
       CASE WHEN r.run_below_target > 0 THEN r.run_start END AS run_start,
       CASE WHEN r.run_below_target > 0
            THEN (date_diff('month', r.run_start, r.month) + 1 - r.run_below_target)::INTEGER
            ELSE 0 END AS run_gap_months,
       r.run_below_minimum::INTEGER AS run_below_minimum,
       CASE WHEN r.run_below_minimum > 0 THEN r.run_below_minimum_start END AS run_below_minimum_start,
       r.misses_in_window::INTEGER AS misses_in_window,
       r.window_months::INTEGER AS window_months,
       r.previous_miss_month,
       c.sort_order
FROM classified AS c
JOIN runs AS r USING (sid, month)
LEFT JOIN sources AS src ON src.source_id = c.source_id
