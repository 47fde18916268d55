-- OPSG Metrics schema: every table and view, in one place.
--
-- Each block below is one numbered migration, introduced by a line
-- "-- migration: N name". db.migrate() applies, in order, the blocks whose
-- number is above the one recorded in schema_migrations, each in its own
-- transaction. Never edit a block that has shipped: add a new one.
--
-- Fact tables (measure_values, incidents, alerts, ops_figures, annotations)
-- keep every loaded row with the source it came from. A later load of the same key is a
-- revision: a new row, never an update. The current_* views pick the latest
-- revision (highest source_id, i.e. the most recently loaded source).

-- migration: 1 initial
CREATE TABLE providers (
    provider     VARCHAR PRIMARY KEY,
    name         VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,
    aliases      VARCHAR NOT NULL DEFAULT '',   -- '|'-separated, matched case-insensitively
    description  VARCHAR NOT NULL DEFAULT '',
    source       VARCHAR NOT NULL DEFAULT '',
    sort_order   INTEGER NOT NULL
);

CREATE TABLE measures (
    measure      VARCHAR NOT NULL,
    provider     VARCHAR NOT NULL REFERENCES providers (provider),
    name         VARCHAR NOT NULL,
    unit         VARCHAR NOT NULL CHECK (unit IN ('percent', 'count', 'minutes')),
    direction    VARCHAR NOT NULL CHECK (direction IN ('higher', 'lower')),
    description  VARCHAR NOT NULL DEFAULT '',
    feeds        VARCHAR NOT NULL DEFAULT '',
    sort_order   INTEGER NOT NULL,
    PRIMARY KEY (measure, provider)
);

CREATE TABLE service_levels (
    measure         VARCHAR NOT NULL,
    provider        VARCHAR NOT NULL,
    target          DOUBLE NOT NULL,
    minimum         DOUBLE NOT NULL,
    effective_from  DATE NOT NULL,
    effective_to    DATE,                       -- exclusive; NULL = open-ended
    source          VARCHAR NOT NULL DEFAULT '',
    verified        BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (measure, provider, effective_from)
);

CREATE SEQUENCE source_id_seq START 1;
CREATE TABLE sources (
    source_id       INTEGER PRIMARY KEY DEFAULT nextval('source_id_seq'),
    label           VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    classification  VARCHAR NOT NULL CHECK (classification IN ('white', 'white-no-publish', 'green', 'amber', 'red')),
    issued_on       DATE,
    file_name       VARCHAR NOT NULL,
    sha256          VARCHAR NOT NULL,
    is_sample       BOOLEAN NOT NULL DEFAULT FALSE,
    loaded_at       TIMESTAMP NOT NULL DEFAULT current_localtimestamp()
);

CREATE TABLE measure_values (
    month        DATE NOT NULL,
    measure      VARCHAR NOT NULL,
    provider     VARCHAR NOT NULL,
    value        DOUBLE,                        -- NULL exactly when status = 'null'
    status       VARCHAR NOT NULL CHECK (status IN ('reported', 'null', 'unreliable')),
    numerator    DOUBLE,
    denominator  DOUBLE,
    note         VARCHAR NOT NULL DEFAULT '',
    source_id    INTEGER NOT NULL REFERENCES sources (source_id),
    source_row   INTEGER NOT NULL,              -- row in the source file, for tracing
    PRIMARY KEY (month, measure, provider, source_id)
);

CREATE TABLE incidents (
    incident_id  VARCHAR NOT NULL,
    opened       TIMESTAMP NOT NULL,
    resolved     TIMESTAMP,
    category     INTEGER NOT NULL CHECK (category BETWEEN 1 AND 5),
    provider     VARCHAR NOT NULL,
    major        BOOLEAN NOT NULL,
    title        VARCHAR NOT NULL,
    root_cause   VARCHAR NOT NULL DEFAULT '',
    source_id    INTEGER NOT NULL REFERENCES sources (source_id),
    source_row   INTEGER NOT NULL,
    PRIMARY KEY (incident_id, source_id)
);

CREATE TABLE alerts (
    month               DATE NOT NULL,
    alert_code          VARCHAR NOT NULL,
    provider            VARCHAR NOT NULL,
    volume              BIGINT NOT NULL,
    devices             BIGINT,
    first_time_devices  BIGINT,
    source_id           INTEGER NOT NULL REFERENCES sources (source_id),
    source_row          INTEGER NOT NULL,
    PRIMARY KEY (month, alert_code, provider, source_id)
);

CREATE TABLE ops_figures (
    month       DATE NOT NULL,
    metric      VARCHAR NOT NULL,
    provider    VARCHAR NOT NULL,
    value       DOUBLE NOT NULL,
    unit        VARCHAR NOT NULL,
    note        VARCHAR NOT NULL DEFAULT '',
    source_id   INTEGER NOT NULL REFERENCES sources (source_id),
    source_row  INTEGER NOT NULL,
    PRIMARY KEY (month, metric, provider, source_id)
);

CREATE SEQUENCE annotation_id_seq START 1;
CREATE TABLE annotations (
    annotation_id  INTEGER PRIMARY KEY DEFAULT nextval('annotation_id_seq'),
    date           DATE NOT NULL,
    text           VARCHAR NOT NULL,
    scope          VARCHAR NOT NULL DEFAULT 'all',
    source_id      INTEGER REFERENCES sources (source_id)
);

CREATE SEQUENCE ingest_id_seq START 1;
CREATE TABLE ingest_log (
    ingest_id    INTEGER PRIMARY KEY DEFAULT nextval('ingest_id_seq'),
    file_name    VARCHAR NOT NULL,
    sha256       VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,
    source_id    INTEGER REFERENCES sources (source_id),
    rows_read    INTEGER NOT NULL,
    rows_loaded  INTEGER NOT NULL,
    outcome      VARCHAR NOT NULL,
    message      VARCHAR NOT NULL DEFAULT '',
    loaded_by    VARCHAR NOT NULL DEFAULT '',
    loaded_at    TIMESTAMP NOT NULL DEFAULT current_localtimestamp()
);

CREATE VIEW current_measure_values AS
SELECT mv.*,
       count(*) OVER (PARTITION BY month, measure, provider) AS revision_count
FROM measure_values AS mv
QUALIFY row_number() OVER (PARTITION BY month, measure, provider ORDER BY source_id DESC) = 1;

CREATE VIEW current_incidents AS
SELECT * FROM incidents
QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY source_id DESC) = 1;

CREATE VIEW current_alerts AS
SELECT * FROM alerts
QUALIFY row_number() OVER (PARTITION BY month, alert_code, provider ORDER BY source_id DESC) = 1;

CREATE VIEW current_ops_figures AS
SELECT * FROM ops_figures
QUALIFY row_number() OVER (PARTITION BY month, metric, provider ORDER BY source_id DESC) = 1;

-- Service levels with the month each stops applying: effective_to (exclusive)
-- or the next later level's effective_from, whichever is earlier.
CREATE VIEW service_levels_in_force AS
SELECT measure, provider, target, minimum, effective_from,
       least(coalesce(effective_to, DATE '9999-12-01'),
             coalesce(lead(effective_from) OVER (PARTITION BY measure, provider ORDER BY effective_from),
                      DATE '9999-12-01')) AS effective_until,
       source, verified
FROM service_levels;

-- migration: 2 annotations
-- Annotations become a fact kind like the others: a dated event or plan whose
-- scope is every chart ('all'), one measure ('measure'), one provider
-- ('provider') or one measure and provider ('series'). Key: date, scope,
-- measure, provider, text (measure and provider are NULL where the scope has
-- none); a later load of the same key with another kind is a revision.
-- DuckDB cannot add a column with a CHECK constraint, so ingest checks that
-- kind is 'event' or 'planned' (and scope one of the four).
ALTER TABLE annotations ADD COLUMN measure VARCHAR;
ALTER TABLE annotations ADD COLUMN provider VARCHAR;
ALTER TABLE annotations ADD COLUMN kind VARCHAR NOT NULL DEFAULT 'event';
ALTER TABLE annotations ADD COLUMN source_row INTEGER;

CREATE VIEW current_annotations AS
SELECT * FROM annotations
QUALIFY row_number() OVER (PARTITION BY date, scope, measure, provider, text ORDER BY source_id DESC) = 1;

-- migration: 3 inferred_status
-- A figure may be 'inferred': a value deduced (for example from a statement in
-- minutes, "at least 10 months below target"), loaded with a note saying how.
-- It is kept and shown, always as inferred, never as reported. DuckDB cannot
-- alter a CHECK constraint, so measure_values is rebuilt with the wider one:
-- a new table, every row copied, the dependent view dropped, the old table
-- dropped, the new one renamed, and the view recreated exactly as before.
CREATE TABLE measure_values_v3 (
    month        DATE NOT NULL,
    measure      VARCHAR NOT NULL,
    provider     VARCHAR NOT NULL,
    value        DOUBLE,                        -- NULL exactly when status = 'null'
    status       VARCHAR NOT NULL CHECK (status IN ('reported', 'null', 'unreliable', 'inferred')),
    numerator    DOUBLE,
    denominator  DOUBLE,
    note         VARCHAR NOT NULL DEFAULT '',   -- for 'inferred', how the value was inferred
    source_id    INTEGER NOT NULL REFERENCES sources (source_id),
    source_row   INTEGER NOT NULL,              -- row in the source file, for tracing
    PRIMARY KEY (month, measure, provider, source_id)
);

INSERT INTO measure_values_v3
       (month, measure, provider, value, status, numerator, denominator, note, source_id, source_row)
SELECT month, measure, provider, value, status, numerator, denominator, note, source_id, source_row
FROM measure_values;

DROP VIEW current_measure_values;
DROP TABLE measure_values;
ALTER TABLE measure_values_v3 RENAME TO measure_values;

CREATE VIEW current_measure_values AS
SELECT mv.*,
       count(*) OVER (PARTITION BY month, measure, provider) AS revision_count
FROM measure_values AS mv
QUALIFY row_number() OVER (PARTITION BY month, measure, provider ORDER BY source_id DESC) = 1;

-- migration: 4 alerts_without_index
-- The alerts table is the big one (a million rows a load at the stress size). Its primary key and
-- its foreign key made DuckDB build an index entry and probe sources for every row: 1.3 of the
-- 1.4 s a million rows took to append (benchmarks/README.md). Both rules still hold, kept by ingest:
-- a file with two rows for one month, code and provider is rejected, every load's rows carry the
-- source_id that load inserts in the same transaction, and sources are never deleted.
-- tests/test_ingest_columnar.py checks both over loads and revisions.
--
-- current_alerts was a window over every row (the latest source per month, code and provider):
-- asking it for the months loaded took ~120 MB at that size. A revision now marks the row it
-- replaces as superseded, in the load's transaction, and the view is a filter.
CREATE TABLE alerts_v4 (
    month               DATE NOT NULL,
    alert_code          VARCHAR NOT NULL,
    provider            VARCHAR NOT NULL,
    volume              BIGINT NOT NULL,
    devices             BIGINT,
    first_time_devices  BIGINT,
    source_id           INTEGER NOT NULL,
    source_row          INTEGER NOT NULL,
    superseded          BOOLEAN NOT NULL DEFAULT false   -- a later source revised this row
);

INSERT INTO alerts_v4
SELECT month, alert_code, provider, volume, devices, first_time_devices, source_id, source_row,
       row_number() OVER (PARTITION BY month, alert_code, provider ORDER BY source_id DESC) > 1
FROM alerts ORDER BY source_id, source_row;

DROP VIEW current_alerts;
DROP TABLE alerts;
ALTER TABLE alerts_v4 RENAME TO alerts;

CREATE VIEW current_alerts AS
SELECT * EXCLUDE (superseded) FROM alerts WHERE NOT superseded;

-- migration: 5 incidents_superseded_flag
-- current_incidents was a window over every incident row, titles and root causes included (50,000
-- incidents at the stress size): a page asking for the major incidents of three years made DuckDB sort
-- them all (~14 MB held by the app for it). As for alerts (migration 4), a revision now marks the row it
-- replaces as superseded, in the load's transaction, and the view is a filter. The key and the
-- reference to sources stay.
CREATE TABLE incidents_v5 (
    incident_id  VARCHAR NOT NULL,
    opened       TIMESTAMP NOT NULL,
    resolved     TIMESTAMP,
    category     INTEGER NOT NULL CHECK (category BETWEEN 1 AND 5),
    provider     VARCHAR NOT NULL,
    major        BOOLEAN NOT NULL,
    title        VARCHAR NOT NULL,
    root_cause   VARCHAR NOT NULL DEFAULT '',
    source_id    INTEGER NOT NULL REFERENCES sources (source_id),
    source_row   INTEGER NOT NULL,
    superseded   BOOLEAN NOT NULL DEFAULT false,   -- a later source revised this incident
    PRIMARY KEY (incident_id, source_id)
);

INSERT INTO incidents_v5
SELECT incident_id, opened, resolved, category, provider, major, title, root_cause, source_id, source_row,
       row_number() OVER (PARTITION BY incident_id ORDER BY source_id DESC) > 1
FROM incidents ORDER BY source_id, source_row;

DROP VIEW current_incidents;
DROP TABLE incidents;
ALTER TABLE incidents_v5 RENAME TO incidents;

CREATE VIEW current_incidents AS
SELECT * EXCLUDE (superseded) FROM incidents WHERE NOT superseded;

-- migration: 6 annotation_scope
-- The annotation-scope rule, in one place: which series (measure and provider of the catalogue) each
-- current annotation applies to. 'all': every series; 'measure': every provider of its measure;
-- 'provider': every measure of its provider; 'series': its own measure and provider. The trend charts
-- (a panel is a series), the SPC rebases and the exports' footers all read this view. Migration 8 makes it
-- again from store/clearance.py, where the rule now lives for the main schema and every clearance level.
CREATE VIEW annotation_scope AS
SELECT a.date, a.text, a.scope, a.measure, a.provider, a.kind, a.source_id,
       s.measure AS series_measure, s.provider AS series_provider
FROM current_annotations AS a
JOIN measures AS s
  ON a.scope = 'all'
  OR (a.scope = 'measure' AND a.measure = s.measure)
  OR (a.scope = 'provider' AND a.provider = s.provider)
  OR (a.scope = 'series' AND a.measure = s.measure AND a.provider = s.provider);

-- migration: 7 people_and_audit
-- Who may use the app and what they may see (a person signs in with OpenID Connect; the table says their
-- role and clearance), and the audit log: every sign-in, refusal, load and export, appended and never
-- changed.
CREATE SEQUENCE person_id_seq START 1;
CREATE TABLE people (
    person_id   INTEGER PRIMARY KEY DEFAULT nextval('person_id_seq'),
    email       VARCHAR NOT NULL UNIQUE,        -- lower case
    subject     VARCHAR,                        -- the OIDC subject, once the person has signed in
    name        VARCHAR NOT NULL DEFAULT '',
    role        VARCHAR NOT NULL CHECK (role IN ('viewer', 'secretariat', 'admin')),
    clearance   VARCHAR NOT NULL CHECK (clearance IN ('white', 'white-no-publish', 'green', 'amber', 'red')),
    added_by    VARCHAR NOT NULL DEFAULT '',
    added_at    TIMESTAMP NOT NULL DEFAULT current_localtimestamp()
);

CREATE SEQUENCE audit_id_seq START 1;
CREATE TABLE audit_log (
    audit_id        INTEGER PRIMARY KEY DEFAULT nextval('audit_id_seq'),
    logged_at       TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    who             VARCHAR NOT NULL,
    action          VARCHAR NOT NULL,           -- sign-in, refused, load, export, people, ...
    what            VARCHAR NOT NULL DEFAULT '',
    month           DATE,
    classification  VARCHAR,
    detail          VARCHAR NOT NULL DEFAULT ''
);

-- migration: 8 clearance_views
-- Generated: store/clearance.py writes this migration's SQL (the tables of restated rows, the annotation
-- scope and the views each clearance level reads), from the same lists the loads use.

-- migration: 9 statements
-- What the minutes (or anyone) stated about the figures, kept as checkable claims (queries/claims): saved
-- from the Minutes check page or loaded from a `statements` file; set beside the figures they speak of.
CREATE SEQUENCE statement_id_seq START 1;
CREATE TABLE statements (
    statement_id   INTEGER PRIMARY KEY DEFAULT nextval('statement_id_seq'),
    month          DATE NOT NULL,
    measure        VARCHAR NOT NULL,            -- a catalogue id, or what a count or direction counts
    provider       VARCHAR,
    quantity       VARCHAR NOT NULL,            -- value, target, minimum, status, run, run_minimum, ...
    claimed        VARCHAR NOT NULL,            -- as text: '10', '54.8', 'below_target', '2019-01', 'lower'
    comparison     VARCHAR NOT NULL DEFAULT '=',
    window_months  INTEGER,                     -- a window claim's window
    sentence       VARCHAR NOT NULL,
    claim          VARCHAR NOT NULL DEFAULT '', -- the words of the sentence the claim was read from
    feeder_provider VARCHAR,                    -- a cause's region (the feeding measure is `claimed`)
    said_in        VARCHAR NOT NULL,            -- e.g. 'OPSG_33xx minutes (22 Jun 2020)'
    source_id      INTEGER NOT NULL REFERENCES sources (source_id),
    source_row     INTEGER NOT NULL
);

-- migration: 10 statement_views
-- Generated: store/clearance.py writes this migration's SQL (each level's view of the statements, and its
-- sources view again, now admitting the sources of statements).

-- migration: 11 review_record
-- The record of the review beside the figures (store/record.py writes it, queries/record.py reads it):
-- meetings, actions with every target date and status they had, decisions and commentary. Nothing is
-- updated or deleted: an edit is a new row, the current one is the latest (by record_id, the order of
-- writing, one sequence for the whole record). Every row carries its own marking (a file's rows the
-- file's; a row written in the app the one its writer gave), and each clearance level reads only the rows
-- it admits (migration 12). source_id is the file a row came from, NULL for a row written in the app.
CREATE SEQUENCE record_id_seq START 1;
CREATE TABLE meetings (
    record_id       INTEGER PRIMARY KEY DEFAULT nextval('record_id_seq'),
    meeting_id      VARCHAR NOT NULL,           -- OPSG_28, OPSG_28x, OPSG_33xx
    date            DATE NOT NULL,
    kind            VARCHAR NOT NULL CHECK (kind IN ('main', 'reporting')),
    pmr_month       DATE NOT NULL,              -- the PMR month the meeting reviews
    classification  VARCHAR NOT NULL CHECK (classification IN ('white', 'white-no-publish', 'green', 'amber', 'red')),
    written_by      VARCHAR NOT NULL DEFAULT '',
    written_at      TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    source_id       INTEGER REFERENCES sources (source_id),
    source_row      INTEGER
);

CREATE TABLE actions (                          -- what an action is: each edit of its words or links a row
    record_id       INTEGER PRIMARY KEY DEFAULT nextval('record_id_seq'),
    action_id       VARCHAR NOT NULL,           -- 'OPSG 28/04'
    text            VARCHAR NOT NULL,
    owner           VARCHAR NOT NULL,
    raised_meeting  VARCHAR NOT NULL,
    raised_on       DATE NOT NULL,
    measures        VARCHAR[] NOT NULL DEFAULT [],
    providers       VARCHAR[] NOT NULL DEFAULT [],
    incidents       VARCHAR[] NOT NULL DEFAULT [],
    note            VARCHAR NOT NULL DEFAULT '',
    classification  VARCHAR NOT NULL CHECK (classification IN ('white', 'white-no-publish', 'green', 'amber', 'red')),
    written_by      VARCHAR NOT NULL DEFAULT '',
    written_at      TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    source_id       INTEGER REFERENCES sources (source_id),
    source_row      INTEGER
);

CREATE TABLE action_targets (                   -- every target date an action had, and why it moved
    record_id       INTEGER PRIMARY KEY DEFAULT nextval('record_id_seq'),
    action_id       VARCHAR NOT NULL,
    target_date     DATE NOT NULL,
    set_on          DATE NOT NULL,
    why             VARCHAR NOT NULL DEFAULT '',
    classification  VARCHAR NOT NULL CHECK (classification IN ('white', 'white-no-publish', 'green', 'amber', 'red')),
    written_by      VARCHAR NOT NULL DEFAULT '',
    written_at      TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    source_id       INTEGER REFERENCES sources (source_id),
    source_row      INTEGER
);

CREATE TABLE action_statuses (                  -- every status an action had: open, closed, reopened
    record_id       INTEGER PRIMARY KEY DEFAULT nextval('record_id_seq'),
    action_id       VARCHAR NOT NULL,
    status          VARCHAR NOT NULL CHECK (status IN ('open', 'closed', 'reopened')),
    changed_on      DATE NOT NULL,
    why             VARCHAR NOT NULL DEFAULT '',
    classification  VARCHAR NOT NULL CHECK (classification IN ('white', 'white-no-publish', 'green', 'amber', 'red')),
    written_by      VARCHAR NOT NULL DEFAULT '',
    written_at      TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    source_id       INTEGER REFERENCES sources (source_id),
    source_row      INTEGER
);

CREATE TABLE decisions (
    record_id       INTEGER PRIMARY KEY DEFAULT nextval('record_id_seq'),
    meeting_id      VARCHAR NOT NULL,
    item            VARCHAR NOT NULL,           -- the agenda item: '4', '4.2', 'PMR'
    verb            VARCHAR NOT NULL CHECK (verb IN ('AGREED', 'NOTED', 'DISCUSSED', 'IDENTIFIED', 'APPROVED')),
    text            VARCHAR NOT NULL,
    measure         VARCHAR,
    provider        VARCHAR,
    action_id       VARCHAR,
    classification  VARCHAR NOT NULL CHECK (classification IN ('white', 'white-no-publish', 'green', 'amber', 'red')),
    written_by      VARCHAR NOT NULL DEFAULT '',
    written_at      TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    source_id       INTEGER REFERENCES sources (source_id),
    source_row      INTEGER
);

CREATE TABLE commentary (                       -- each version a row; the latest per month, measure, provider is current
    record_id       INTEGER PRIMARY KEY DEFAULT nextval('record_id_seq'),
    month           DATE NOT NULL,
    measure         VARCHAR,                    -- NULL: on the PMR month overall
    provider        VARCHAR,
    text            VARCHAR NOT NULL,
    author          VARCHAR NOT NULL,
    classification  VARCHAR NOT NULL CHECK (classification IN ('white', 'white-no-publish', 'green', 'amber', 'red')),
    written_by      VARCHAR NOT NULL DEFAULT '',
    written_at      TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    source_id       INTEGER REFERENCES sources (source_id),
    source_row      INTEGER
);

-- migration: 12 record_views
-- Generated: store/clearance.py writes this migration's SQL (each level's view of the review record: the
-- rows marked at what it admits; the current views; its sources view again, admitting the record's files).

-- migration: 13 events
-- Request records (store/events.py keeps their files, ingest/events.py loads them, rules/events.sql counts
-- them): the rows themselves live in month-partitioned Parquet beside the database
-- (<db>.events/month=YYYY-MM/measure=M/provider=P/source-N-I.parquet); this table is the manifest of each
-- file's partitions. A load is a source (kind 'events') with its marking; a partition loaded again by a
-- later source is a revision, kept beside the old one: the latest source per month and series is current.
-- A month's file may hold billions of rows: the ingest log's counts are BIGINT.
ALTER TABLE ingest_log ALTER rows_read SET DATA TYPE BIGINT;
ALTER TABLE ingest_log ALTER rows_loaded SET DATA TYPE BIGINT;
CREATE TABLE event_partitions (
    source_id   INTEGER NOT NULL REFERENCES sources (source_id),
    month       DATE NOT NULL,                  -- the UK calendar month (Europe/London) of received_at
    measure     VARCHAR NOT NULL,
    provider    VARCHAR NOT NULL,
    rows        BIGINT NOT NULL,
    path        VARCHAR NOT NULL,               -- relative to the events folder
    PRIMARY KEY (source_id, month, measure, provider, path)
);
CREATE VIEW current_event_partitions AS
SELECT * FROM event_partitions
WHERE source_id = (SELECT max(p.source_id) FROM event_partitions AS p
                   WHERE p.month = event_partitions.month AND p.measure = event_partitions.measure
                     AND p.provider = event_partitions.provider);

-- migration: 14 event_views
-- Generated: store/clearance.py writes this migration's SQL (each level's view of the event partitions: the
-- files of the sources it admits, the current ones among them; its sources view again, admitting events).
