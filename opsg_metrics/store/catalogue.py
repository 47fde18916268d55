"""The reference data: providers (with their aliases) and the measure catalogue.

providers.csv is loaded straight into the providers table at init; the
measures catalogue (measures and their service levels with effective dates)
is a file of the `catalogue` kind and goes through ingest like any other.
Catalogue is the lookup ingest and the command line use to turn what a
person wrote ("CSP North", "cpm 1") into the ids the database keys on.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from opsg_metrics.store.connect import REPO_ROOT
from opsg_metrics.store.text import identifier_problem, quote, trim

CATALOGUE_DIR = REPO_ROOT / "data" / "catalogue"
PROVIDERS_FILE = CATALOGUE_DIR / "providers.csv"
MEASURES_FILE = CATALOGUE_DIR / "measures.csv"


# Providers reported together as one: the PMR gives CSP Central & South as well as CSP C and CSP S, so a
# count of figures that takes CSP C&S takes its parts no more (the summary's counts, the regional sums).
PROVIDER_PARTS: dict[str, tuple[str, ...]] = {"CSP C&S": ("CSP C", "CSP S")}


def counted_once(providers: Sequence[str]) -> list[str]:
    """The providers a count takes, each figure once: a part left out where its combination is there."""
    present = set(providers)
    parts = {p for group, members in PROVIDER_PARTS.items() if group in present for p in members}
    return [p for p in dict.fromkeys(providers) if p not in parts]


def normalise_key(text: str) -> str:
    """Case-, space- and hyphen-insensitive form used to match names and aliases."""
    return re.sub(r"[\s\-_]+", "", text.strip().lower())


def normalise_measure_id(text: str) -> str:
    """'cpm 1' -> 'CPM1', 'dsp 1.1' -> 'DSP1.1'; hyphens inside ids are kept."""
    return re.sub(r"\s+", "", text.strip().upper())


def load_providers(con: duckdb.DuckDBPyConnection, path: Path = PROVIDERS_FILE) -> int:
    """Insert or refresh the providers from providers.csv; return how many."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for order, row in enumerate(rows, start=1):
        con.execute(
            "INSERT OR REPLACE INTO providers (provider, name, kind, aliases, description, source, sort_order)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [row["provider"], row["name"], row["kind"], row["aliases"], row["description"], row["source"], order],
        )
    return len(rows)


@dataclass
class MeasureDef:
    measure: str
    provider: str
    unit: str
    direction: str


@dataclass
class Catalogue:
    """What ingest and the CLI need to resolve ids: providers, aliases, measures."""

    providers: list[str]
    aliases: dict[str, str]  # normalised alias -> provider id
    measures: dict[tuple[str, str], MeasureDef] = field(default_factory=dict)
    resolved: dict[str, str] = field(default_factory=dict, repr=False)  # text as written -> provider id

    @classmethod
    def from_db(cls, con: duckdb.DuckDBPyConnection) -> Catalogue:
        providers = con.execute("SELECT provider, name, aliases FROM providers ORDER BY sort_order").fetchall()
        aliases: dict[str, str] = {}
        for provider, name, alias_text in providers:
            for alias in [provider, name, *alias_text.split("|")]:
                if alias.strip():
                    aliases[normalise_key(alias)] = provider
        catalogue = cls([p for p, _, _ in providers], aliases)
        for measure, provider, unit, direction in con.execute(
            "SELECT measure, provider, unit, direction FROM measures"
        ).fetchall():
            catalogue.measures[(measure, provider)] = MeasureDef(measure, provider, unit, direction)
        return catalogue

    @property
    def measure_ids(self) -> set[str]:
        return {measure for measure, _ in self.measures}

    def providers_of(self, measure: str) -> list[str]:
        return [p for p in self.providers if (measure, p) in self.measures]

    def resolve_provider(self, text: str) -> str:
        """Provider id for a name or alias, or ValueError naming the valid ones."""
        provider = self.resolved.get(text)  # a big file writes the same few texts a million times
        if provider is not None:
            return provider
        if (problem := identifier_problem(trim(text), "a provider")) is not None:
            raise ValueError(problem)
        provider = self.aliases.get(normalise_key(text))
        if provider is None:
            if not text.strip():
                raise ValueError("provider is empty")
            raise ValueError(f"unknown provider {quote(text.strip())} (expected one of {', '.join(self.providers)})")
        self.resolved[text] = provider
        return provider

    def resolve_measure(self, text: str) -> str:
        """Catalogue measure id for what was written, or ValueError with a suggestion."""
        if (problem := identifier_problem(trim(text), "a measure id")) is not None:
            raise ValueError(problem)
        measure = normalise_measure_id(text)
        if not measure:
            raise ValueError("measure is empty")
        if measure not in self.measure_ids:
            close = difflib.get_close_matches(measure, sorted(self.measure_ids), n=1)
            hint = f"; did you mean {quote(close[0])}?" if close else ""
            raise ValueError(f"unknown measure {quote(text.strip())} (not in the catalogue{hint})")
        return measure

    def select(self, measures: Sequence[str], providers: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
        """Catalogue ids for the measures and providers a link or a person names (each once, in order), and a
        message for each thing not understood."""
        problems, good_measures, good_providers = [], [], []
        for text in measures:
            try:
                good_measures.append(self.resolve_measure(text))
            except ValueError as exc:
                problems.append(str(exc).replace("unknown measure", "Unknown measure"))
        for text in providers:
            try:
                good_providers.append(self.resolve_provider(text))
            except ValueError as exc:
                problems.append(str(exc).replace("unknown provider", "Unknown provider"))
        return list(dict.fromkeys(good_measures)), list(dict.fromkeys(good_providers)), problems

    def providers_reporting(self, measures: Sequence[str]) -> list[str]:
        """Providers any of the measures is defined for, in provider order."""
        return [p for p in self.providers if any((m, p) in self.measures for m in measures)]

    def resolve_series(self, measure_text: str, provider_text: str) -> MeasureDef:
        measure = self.resolve_measure(measure_text)
        provider = self.resolve_provider(provider_text)
        definition = self.measures.get((measure, provider))
        if definition is None:
            raise ValueError(
                f"measure {quote(measure)} is not defined for provider {quote(provider)} "
                f"(it is for {', '.join(self.providers_of(measure))})"
            )
        return definition


# ---------------------------------------------------------------- look-ups for pages and links


def measure_options(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Measure id -> 'CPM1: On-demand Service Responses ...' in catalogue order."""
    rows = con.execute(
        "SELECT measure, any_value(name ORDER BY sort_order), min(sort_order) AS o FROM measures GROUP BY measure ORDER BY o"
    ).fetchall()
    return {m: f"{m}: {n.split(' (CSP')[0]}" for m, n, _ in rows}


def providers_for(con: duckdb.DuckDBPyConnection, measures: list[str]) -> list[str]:
    """Providers any of the measures is defined for, in provider order."""
    return Catalogue.from_db(con).providers_reporting(measures)


def resolve_selection(
    con: duckdb.DuckDBPyConnection, measures: list[str], providers: list[str]
) -> tuple[list[str], list[str], list[str]]:
    """Catalogue ids for what a link or a person asked for, and a message for each thing not understood."""
    return Catalogue.from_db(con).select(measures, providers)
