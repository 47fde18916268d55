"""The one writer of every CSV the product lets out: the classification on the first line, formula-like text
neutralised (OWASP's advice for CSV injection), characters that cannot be printed replaced."""

from __future__ import annotations

import pandas as pd

from opsg_metrics.queries.provenance import exported_note
from opsg_metrics.store.classification import LABELS
from opsg_metrics.store.text import printable

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe, and any character
    that cannot be printed is replaced; numbers, including negative ones, are left alone."""
    if isinstance(value, str):
        value = printable(value)
        if value.startswith(FORMULA_PREFIXES):
            return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame, classification: str, exported_by: str | None = None) -> bytes:
    """The frame as UTF-8 CSV (with a BOM, so Excel reads it right), formula-like text neutralised,
    its classification marked on the first line (with, above WHITE, who exported it)."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    marking = f"Classification: {LABELS[classification]}"
    if note := exported_note(classification, exported_by):
        marking += f"; {note}"
    marking += "\n"
    return (marking + safe.to_csv(index=False)).encode("utf-8-sig")
