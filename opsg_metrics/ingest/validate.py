"""The rules of each kind's rows, one function per kind, and the checks across the rows of a file (keys
that appear twice, a catalogue series defined two ways). Every problem is a Problem located by file,
row and column; a row is kept only without one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date

from opsg_metrics.ingest.formats import (
    ANNOTATION_KINDS,
    ANNOTATION_SCOPES,
    KEYS,
    MAX_FIELD_CHARS,
    MEASURE_STATUSES,
    NULLABLE_KEYS,
    OPS_UNITS,
    SCOPE_COLUMNS,
    Prepared,
    Problem,
    Sheet,
    describe_key,
)
from opsg_metrics.store import parse
from opsg_metrics.store import text as text_rules
from opsg_metrics.store.catalogue import Catalogue, MeasureDef, normalise_measure_id


class RowCheck:
    """Reads one row's cells by column name and collects its problems."""

    def __init__(self, label: str, row: int, cells: list[str], positions: dict[str, int]):
        self.label, self.row, self.cells, self.positions = label, row, cells, positions
        self.problems: list[Problem] = []

    def text(self, column: str) -> str:
        index = self.positions.get(column)
        if index is None or index >= len(self.cells):
            return ""
        return text_rules.trim(self.cells[index])

    def problem(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.label, self.row, column, message))

    def get(self, column: str, parser: Callable, *, required: bool = True, **kwargs: object) -> object:
        """Parse a cell; record a problem and return None when it is missing or bad."""
        text = self.text(column)
        if not text:
            if required:
                self.problem(column, f"{column} is required")
            return None
        try:
            return parser(text, **kwargs)
        except ValueError as exc:
            self.problem(column, str(exc))
            return None

    def free_text(self, column: str, *, required: bool = False) -> str | None:
        """A free-text cell (characters that cannot be printed were refused when the file was read)."""
        text = self.text(column)
        if required and not text:
            self.problem(column, f"{column} is required")
            return None
        if len(text) > MAX_FIELD_CHARS:
            self.problem(column, f"text of {len(text):,} characters is longer than the {MAX_FIELD_CHARS:,} allowed")
            return None
        return text


def _percent_range(check: RowCheck, column: str, value: float | None, unit: str) -> None:
    if value is None:
        return
    written = check.text(column)  # as written: 100.0000001 is not "100"
    if unit == "percent" and not 0 <= value <= 100:
        check.problem(column, f"{written} is out of range: a percentage is between 0 and 100")
    elif unit != "percent" and value < 0:
        check.problem(column, f"{written} is out of range: a {unit} value cannot be negative")


def validate_measures_row(check: RowCheck, catalogue: Catalogue) -> dict:
    month = check.get("month", parse.parse_figure_month)
    definition: MeasureDef | None = None
    measure_text, provider_text = check.text("measure"), check.text("provider")
    measure = provider = None
    try:
        measure = catalogue.resolve_measure(measure_text)
    except ValueError as exc:
        check.problem("measure", str(exc))
    try:
        provider = catalogue.resolve_provider(provider_text)
    except ValueError as exc:
        check.problem("provider", str(exc))
    if measure and provider:
        try:
            definition = catalogue.resolve_series(measure, provider)
        except ValueError as exc:
            check.problem("provider", str(exc))
    status = check.text("status").lower() or "reported"
    if status not in MEASURE_STATUSES:
        check.problem(
            "status", f"{text_rules.quote(check.text('status'))} is not a status (use {', '.join(MEASURE_STATUSES)})"
        )
        status = None
    unit = definition.unit if definition else "percent"
    value_text = check.text("value")
    value = None
    if status == "null":
        if value_text:
            check.problem(
                "value",
                f"a null figure has no value, but {text_rules.quote(value_text)} is given "
                "(leave value empty, or use status=unreliable to keep a doubtful value)",
            )
    elif not value_text:
        check.problem("value", "value is required (use status=null for a missing figure)")
    else:
        try:
            value = parse.parse_number(value_text, allow_percent=True)
        except ValueError as exc:
            check.problem("value", f"{exc} (use status=null for a missing figure)")
        _percent_range(check, "value", value, unit)
    numerator = check.get("numerator", parse.parse_number, required=False)
    denominator = check.get("denominator", parse.parse_number, required=False)
    for column, count in (("numerator", numerator), ("denominator", denominator)):
        if count is not None and count < 0:
            check.problem(column, f"{check.text(column)} is negative; an event count is zero or more")
    if numerator is not None and denominator is not None and numerator >= 0 and denominator >= 0:
        if unit != "percent":
            check.problem(
                "numerator", f"numerator and denominator apply to percentage measures; {measure} is a {unit} measure"
            )
        elif denominator == 0:
            check.problem("denominator", "denominator is 0: no events, so no percentage (use status=null)")
        elif numerator > denominator:
            check.problem(
                "numerator",
                f"numerator {check.text('numerator')} is greater than denominator {check.text('denominator')}",
            )
        elif value is not None and abs(numerator / denominator * 100 - value) > 0.01 + 1e-9:
            check.problem(
                "value",
                f"{check.text('value')} does not agree with numerator/denominator "
                f"{check.text('numerator')}/{check.text('denominator')} = {numerator / denominator * 100:.4f}% "
                "(allowed difference 0.01)",
            )
    note = check.free_text("note")
    if status == "inferred" and not check.text("note"):
        check.problem(
            "note",
            "an inferred figure must say how it was inferred: give a note "
            "(for example the minutes it was deduced from)",
        )
    return {
        "month": month,
        "measure": measure,
        "provider": provider,
        "value": value,
        "status": status,
        "numerator": numerator,
        "denominator": denominator,
        "note": note or "",
    }


def validate_incidents_row(check: RowCheck, catalogue: Catalogue) -> dict:
    incident_id = check.text("incident_id").upper()
    if not incident_id:
        check.problem("incident_id", "incident_id is required")
    elif (problem := text_rules.identifier_problem(check.text("incident_id"), "an incident id")) is not None:
        check.problem("incident_id", problem)
    elif not (incident_id.replace("-", "").replace("_", "").isalnum() and len(incident_id) <= 40):
        check.problem(
            "incident_id",
            f"{text_rules.quote(incident_id)} is not an incident id (letters and digits, such as INC000000526144)",
        )
    opened = check.get("opened", parse.parse_datetime)
    resolved = check.get("resolved", parse.parse_datetime, required=False)
    if opened and resolved and resolved < opened:
        check.problem("resolved", f"resolved {resolved:%Y-%m-%d %H:%M} is before opened {opened:%Y-%m-%d %H:%M}")
    category = check.get("category", parse.parse_count)
    if category is not None and not 1 <= category <= 5:
        check.problem("category", f"category {category} is out of range: categories are 1 (most severe) to 5")
    provider = check.get("provider", catalogue.resolve_provider)
    major = check.get("major", parse.parse_bool)
    if major and category is not None and category > 2:
        check.problem("major", f"a major incident is Category 1 or 2, but this one is Category {category}")
    title = check.free_text("title", required=True)
    root_cause = check.free_text("root_cause")
    return {
        "incident_id": incident_id,
        "opened": opened,
        "resolved": resolved,
        "category": category,
        "provider": provider,
        "major": major,
        "title": title,
        "root_cause": root_cause or "",
    }


@functools.lru_cache(maxsize=65536)
def _alert_code(text: str) -> str:
    if (problem := text_rules.identifier_problem(text_rules.trim(text), "an alert code")) is not None:
        raise ValueError(problem)
    code = text.strip().upper()
    if code.startswith("0X"):
        code = code[2:]
    if len(code) != 4 or any(c not in "0123456789ABCDEF" for c in code):
        raise ValueError(f"{text_rules.quote(text.strip())} is not an alert code (4 hexadecimal digits, such as 8F3E)")
    return code


def alerts_columns(catalogue: Catalogue) -> tuple[tuple[str, Callable, bool], ...]:
    """(column, parser, required) of an alerts file: each cell is read on its own. The row-by-row
    check and the columnar reader of big files (read_alerts_columnar) both read cells with these."""
    return (
        ("month", parse.parse_figure_month, True),
        ("alert_code", _alert_code, True),
        ("provider", catalogue.resolve_provider, True),
        ("volume", parse.parse_count, True),
        ("devices", parse.parse_count, False),
        ("first_time_devices", parse.parse_count, False),
    )


# The rules across the cells of one alerts row, as SQL over the parsed columns: the columnar reader
# hands a file that breaks one to the row-by-row check, whose messages are these rules in words.
ALERTS_ROW_RULES_SQL = "devices > volume OR first_time_devices > devices"


def validate_alerts_row(check: RowCheck, catalogue: Catalogue) -> dict:
    record = {name: check.get(name, parser, required=required) for name, parser, required in alerts_columns(catalogue)}
    volume, devices, first_time = record["volume"], record["devices"], record["first_time_devices"]
    if devices is not None and volume is not None and devices > volume:
        check.problem("devices", f"{devices} devices is more than the {volume} alerts they raised")
    if first_time is not None and devices is not None and first_time > devices:
        check.problem("first_time_devices", f"{first_time} first-time devices is more than the {devices} devices")
    return record


def validate_ops_row(check: RowCheck, catalogue: Catalogue) -> dict:
    month = check.get("month", parse.parse_figure_month)
    metric = " ".join(check.text("metric").split())
    if not metric:
        check.problem("metric", "metric is required")
    elif (problem := text_rules.identifier_problem(metric, "a metric name")) is not None:
        check.problem("metric", problem)
    elif len(metric) > 200:
        check.problem("metric", "metric name is longer than 200 characters")
    provider = check.get("provider", catalogue.resolve_provider)
    unit_text = check.text("unit")
    unit = OPS_UNITS.get(unit_text.lower())
    if not unit_text:
        check.problem("unit", "unit is required")
    elif unit is None:
        check.problem(
            "unit", f"{text_rules.quote(unit_text)} is not a unit (use {', '.join(sorted(set(OPS_UNITS.values())))})"
        )
    value = check.get("value", parse.parse_number, allow_percent=True)
    if unit:
        _percent_range(check, "value", value, unit)
    note = check.free_text("note")
    return {"month": month, "metric": metric, "provider": provider, "value": value, "unit": unit, "note": note or ""}


def _level_date(text: str) -> date:
    return parse.parse_date(text)


def validate_catalogue_row(check: RowCheck, catalogue: Catalogue) -> dict:
    measure = normalise_measure_id(check.text("measure"))
    if not measure:
        check.problem("measure", "measure is required")
    elif (problem := text_rules.identifier_problem(check.text("measure"), "a measure id")) is not None:
        check.problem("measure", problem)
    elif not all(c.isalnum() or c in ".-" for c in measure) or len(measure) > 40:
        check.problem(
            "measure", f"{text_rules.quote(measure)} is not a measure id (letters, digits, '.' and '-', such as PM4.3)"
        )
    provider = check.get("provider", catalogue.resolve_provider)
    name = check.free_text("name", required=True)
    unit = check.text("unit").lower()
    if unit not in ("percent", "count", "minutes"):
        check.problem("unit", f"{text_rules.quote(check.text('unit'))} is not a unit (use percent, count or minutes)")
        unit = None
    direction = check.text("direction").lower()
    if direction not in ("higher", "lower"):
        check.problem(
            "direction",
            f"{text_rules.quote(check.text('direction'))} is not a direction (use higher or lower: which is better)",
        )
        direction = None
    target = check.get("target", parse.parse_number, allow_percent=True)
    minimum = check.get("minimum", parse.parse_number, allow_percent=True)
    if unit:
        _percent_range(check, "target", target, unit)
        _percent_range(check, "minimum", minimum, unit)
    if direction and target is not None and minimum is not None:
        if direction == "higher" and minimum > target:
            check.problem(
                "minimum",
                f"minimum {check.text('minimum')} is above target {check.text('target')} for a higher-is-better measure",
            )
        if direction == "lower" and minimum < target:
            check.problem(
                "minimum",
                f"minimum {check.text('minimum')} is below target {check.text('target')} for a lower-is-better measure",
            )
    effective_from = check.get("effective_from", _level_date)
    effective_to = check.get("effective_to", _level_date, required=False)
    if effective_from and effective_to and effective_to <= effective_from:
        check.problem("effective_to", f"effective_to {effective_to} is not after effective_from {effective_from}")
    verified = check.get("verified", parse.parse_bool, required=False)
    source = check.free_text("source")
    description = check.free_text("description")
    feeds = check.free_text("feeds")
    return {
        "measure": measure,
        "provider": provider,
        "name": name,
        "unit": unit,
        "direction": direction,
        "target": target,
        "minimum": minimum,
        "effective_from": effective_from,
        "effective_to": effective_to,
        "source": source or "",
        "verified": bool(verified),
        "description": description or "",
        "feeds": feeds or "",
    }


def _scope_mismatch(scope: str, given: dict[str, str]) -> str | None:
    """Why the measure and provider cells given do not fit the scope, or None if they do."""
    needs_measure, needs_provider, meaning = SCOPE_COLUMNS[scope]
    wanted = f"{'a' if needs_measure else 'no'} measure and {'a' if needs_provider else 'no'} provider"
    faults = []
    for column, needed in (("measure", needs_measure), ("provider", needs_provider)):
        if needed and not given[column]:
            faults.append(f"{column} is missing")
        elif not needed and given[column]:
            faults.append(f"{column} {text_rules.quote(given[column])} is given")
    if not faults:
        return None
    return f"scope {text_rules.quote(scope)} ({meaning}) needs {wanted}, but {' and '.join(faults)}"


def validate_annotations_row(check: RowCheck, catalogue: Catalogue) -> dict:
    day = check.get("date", parse.parse_date)
    text = check.free_text("text", required=True)
    given = {"measure": check.text("measure"), "provider": check.text("provider")}
    measure = provider = None
    if given["measure"]:
        try:
            measure = catalogue.resolve_measure(given["measure"])
        except ValueError as exc:
            check.problem("measure", str(exc))
    if given["provider"]:
        try:
            provider = catalogue.resolve_provider(given["provider"])
        except ValueError as exc:
            check.problem("provider", str(exc))
    scope = check.text("scope").lower()
    if not scope:
        check.problem("scope", f"scope is required (use {', '.join(ANNOTATION_SCOPES)})")
        scope = None
    elif scope not in ANNOTATION_SCOPES:
        check.problem(
            "scope", f"{text_rules.quote(check.text('scope'))} is not a scope (use {', '.join(ANNOTATION_SCOPES)})"
        )
        scope = None
    elif mismatch := _scope_mismatch(scope, given):
        check.problem("scope", mismatch)
    elif scope == "series" and measure and provider:
        try:
            catalogue.resolve_series(measure, provider)
        except ValueError as exc:
            check.problem("provider", str(exc))
    kind = check.text("kind").lower() or "event"
    if kind not in ANNOTATION_KINDS:
        check.problem(
            "kind",
            f"{text_rules.quote(check.text('kind'))} is not an annotation kind (use event: something that happened, "
            "planned: a promised date, or rebase: SPC limits are recomputed from this date)",
        )
        kind = None
    return {"date": day, "text": text, "scope": scope, "measure": measure, "provider": provider, "kind": kind}


VALIDATORS = {
    "measures": validate_measures_row,
    "incidents": validate_incidents_row,
    "alerts": validate_alerts_row,
    "ops": validate_ops_row,
    "catalogue": validate_catalogue_row,
    "annotations": validate_annotations_row,
}


def validate_sheets(
    sheets: list[tuple[Sheet, dict[str, int]]], kind: str, catalogue: Catalogue
) -> tuple[Prepared, list[Problem]]:
    """The rows of every sheet of one kind (a CSV file is one sheet; a workbook may have several sheets of
    a kind, as one table), each checked, and every key checked across them all."""
    validator = VALIDATORS[kind]
    records, problems = [], []
    seen: dict[tuple, tuple[str, int]] = {}
    first_definition: dict[tuple, tuple[int, tuple]] = {}
    nullable = NULLABLE_KEYS.get(kind, ())
    for sheet, positions in sheets:
        width = len(sheet.header)
        for row_number, cells in sheet.rows:
            check = RowCheck(sheet.label, row_number, cells, positions)
            extra = [c for c in cells[width:] if c.strip()]
            if extra:
                check.problem(
                    f"column {width + 1}", f"the row has {len(cells)} cells but the header only {width} columns"
                )
            # A validator always returns what it could parse; the row is kept only without problems,
            # but its key still counts, so a duplicate is found even beside a faulty twin.
            record = validator(check, catalogue)
            problems += check.problems
            # An empty cell in a column of NULLABLE_KEYS is part of the key ("" here); one filled in
            # but unreadable (None) leaves the key incomplete, and an incomplete key is not compared.
            key = tuple(
                "" if k in nullable and record[k] is None and not check.text(k) else record[k] for k in KEYS[kind]
            )
            if all(v is not None and (v != "" or k in nullable) for k, v in zip(KEYS[kind], key)):
                if key in seen:
                    where_label, where_row = seen[key]
                    where = f"row {where_row}" if where_label == sheet.label else f"{where_label} row {where_row}"
                    problems.append(
                        Problem(
                            sheet.label,
                            row_number,
                            KEYS[kind][0],
                            f"duplicate of {where}: the same {describe_key(kind)} appear twice in one file",
                        )
                    )
                    continue
                seen[key] = (sheet.label, row_number)
            if check.problems:
                continue
            if kind == "catalogue":
                series = (record["measure"], record["provider"])
                definition = (record["name"], record["unit"], record["direction"])
                if series in first_definition and first_definition[series][1] != definition:
                    problems.append(
                        Problem(
                            sheet.label,
                            row_number,
                            "name",
                            f"{series[0]} ({series[1]}) has a different name, unit or direction "
                            f"than in row {first_definition[series][0]}",
                        )
                    )
                    continue
                first_definition.setdefault(series, (row_number, definition))
            record["source_row"] = row_number
            records.append(record)
        if not sheet.rows:
            problems.append(Problem(sheet.label, 2, "-", "the file has a header but no data rows"))
    label = " + ".join(sheet.label for sheet, _ in sheets)
    return Prepared(kind, label, records, sum(len(sheet.rows) for sheet, _ in sheets)), problems
