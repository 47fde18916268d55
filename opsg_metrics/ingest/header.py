"""A sheet's header: which kind of file it is, and which column is where (every header problem listed)."""

from __future__ import annotations

from opsg_metrics.ingest.formats import (
    COLUMNS,
    FILE_KINDS,
    Problem,
    Sheet,
)
from opsg_metrics.store import text as text_rules


def normalise_header(name: str) -> str:
    return "_".join(name.replace("\ufeff", "").strip().lower().replace("-", " ").split())


def detect_kind(columns: set[str]) -> str | None:
    """The file kind its header shows, by the columns only that kind has."""
    if {"target", "minimum", "effective_from"} <= columns:
        return "catalogue"
    if "incident_id" in columns:
        return "incidents"
    if "alert_code" in columns:
        return "alerts"
    if "metric" in columns:
        return "ops"
    if {"date", "text", "scope"} <= columns:
        return "annotations"
    if {"month", "measure"} <= columns:
        return "measures"
    return None


def record_kind(columns: set[str]) -> str | None:
    """The record kind a header shows, by the columns only that kind has."""
    if {"action_id", "raised_meeting"} <= columns:
        return "actions"
    if {"meeting_id", "verb"} <= columns:
        return "decisions"
    if {"meeting_id", "pmr_month"} <= columns:
        return "meetings"
    if {"month", "text"} <= columns and not columns & {"value", "status", "quantity", "claimed"}:
        return "commentary"
    return None


def check_header(sheet: Sheet, kind: str | None) -> tuple[str | None, dict[str, int], list[Problem]]:
    """Resolve the kind and map column names to positions; list every header problem."""
    problems: list[Problem] = []
    names = [normalise_header(h) for h in sheet.header]
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            if any(index < len(cells) and cells[index].strip() for _, cells in sheet.rows):
                problems.append(Problem(sheet.label, 1, f"column {index + 1}", "this column has data but no name"))
            continue
        if name in positions:
            problems.append(Problem(sheet.label, 1, name, f"column {text_rules.quote(name)} appears twice"))
            continue
        positions[name] = index
    detected = detect_kind(set(positions))
    chosen = kind or sheet.kind_from_name or detected
    if chosen is None:
        hint = ""
        if len(sheet.header) == 1 and (";" in sheet.header[0] or "\t" in sheet.header[0]):
            hint = "; the header looks separated by ';' or tabs: save the file as comma-separated CSV"
        problems.append(
            Problem(
                sheet.label,
                1,
                "header",
                f"cannot tell the kind of file from its header (columns: {', '.join(n for n in names if n) or 'none'})"
                f"{hint}; name it with --kind ({', '.join(FILE_KINDS)})",
            )
        )
        return None, positions, problems
    if kind and detected and detected != kind:
        problems.append(
            Problem(
                sheet.label,
                1,
                "header",
                f"the header is that of a {text_rules.quote(detected)} file, but the kind asked for is {text_rules.quote(kind)}",
            )
        )
    required, optional = COLUMNS[chosen]
    for name in required:
        if name not in positions:
            problems.append(
                Problem(
                    sheet.label,
                    1,
                    name,
                    f"required column {text_rules.quote(name)} is missing for a {text_rules.quote(chosen)} file",
                )
            )
    allowed = set(required) | set(optional)
    for name in positions:
        if name not in allowed and not name.startswith("x_"):
            problems.append(
                Problem(
                    sheet.label,
                    1,
                    name,
                    f"unknown column {text_rules.quote(name)} for a {text_rules.quote(chosen)} file (extra columns must start with x_)",
                )
            )
    return chosen, positions, problems
