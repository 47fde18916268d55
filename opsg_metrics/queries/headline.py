"""The summary's headline: one paragraph a Panel paper can take as it is (what was below target or minimum,
where, for how long, why, what changed, the data caveats), and what it needs: which provider measures held
a CPM down (the catalogue's `feeds`), and each figure beside its last reported month.

Counts take each figure once: CSP C&S, not CSP C and CSP S as well (store/catalogue.PROVIDER_PARTS).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries import sentences
from opsg_metrics.queries.findings import HEADLINE, Finding
from opsg_metrics.store.catalogue import PROVIDER_PARTS, counted_once

LISTED = 4  # names a headline sentence lists before "and N more"
MISSES = ("below_target", "below_minimum")


# ---------------------------------------------------------------- what feeds what


def feeders_of(con: duckdb.DuckDBPyConnection, now: pd.DataFrame) -> dict[tuple[str, str], list[pd.Series]]:
    """For each CPM figure below target, the provider measures feeding it (the catalogue's `feeds`) that were
    below target or minimum in the same month and region: a regional CPM's own region (or the regions it
    combines), the overall CPM's every region counted once (CSP C&S, not CSP C and CSP S as well)."""
    feeds = {
        (m, p): {f.strip() for f in text.replace("|", ",").split(",") if f.strip()}
        for m, p, text in con.execute("SELECT measure, provider, feeds FROM measures WHERE feeds <> ''").fetchall()
    }
    misses = now[now["status"].isin(MISSES)]
    out = {}
    for _, cpm in misses[misses["measure"].str.startswith("CPM")].iterrows():
        feeding = misses[
            [cpm["measure"] in feeds.get((m, p), ()) for m, p in zip(misses["measure"], misses["provider"])]
        ]
        if cpm["provider"] == "DCC":
            regions = counted_once(list(now["provider"].drop_duplicates()))
        else:
            regions = [cpm["provider"]]
            if not (feeding["provider"] == cpm["provider"]).any():
                regions += list(PROVIDER_PARTS.get(cpm["provider"], ()))
        found = [r for _, r in feeding.iterrows() if r["provider"] in regions]
        if found:
            out[(cpm["measure"], cpm["provider"])] = found
    return out


# ---------------------------------------------------------------- comparing with the month before


def compared(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """The month's figures beside each series' last reported month before it (columns suffixed _before)."""
    if before.empty:
        return now.iloc[0:0].assign(month_before=pd.Series(dtype="datetime64[ns]"), status_before="", value_before=0.0)
    return now.merge(
        before[["measure", "provider", "month", "value", "status", "run_below_target", "note"]],
        on=["measure", "provider"],
        suffixes=("", "_before"),
    )


def returned(merged: pd.DataFrame) -> pd.DataFrame:
    return merged[(merged["status"] == "met") & merged["status_before"].isin(MISSES)]


def fell(merged: pd.DataFrame) -> pd.DataFrame:
    return merged[merged["status"].isin(MISSES) & (merged["status_before"] == "met")]


# ---------------------------------------------------------------- the headline paragraph


def _by_measure(rows: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [(m, group) for m, group in rows.groupby("measure", sort=False)]


def _place(row: pd.Series) -> str:
    """Where a figure is, beside its measure: 'overall', '(DSP)', 'in CSP N'."""
    return words.who(row["measure"], row["provider"])[len(row["measure"]) + 1 :]


def _at(row: pd.Series, *extra: str) -> str:
    """'DSP1.2 (DSP) at 96.30%', 'PM2 in CSP N at 89.66% (the fourth month in succession)'."""
    marks = [*sentences.value_marks(row, flagged=True), *(["lower is better"] if row["direction"] == "lower" else [])]
    marks += [e for e in extra if e]
    value = words.value_text(row["value"], row["unit"])
    return f"{sentences.who(row)} at {value}" + (f" ({', '.join(marks)})" if marks else "")


def _details(row: pd.Series, *extra: str) -> str:
    """A figure's value and what goes with it, in one pair of brackets: '(54.80%, reported in the OPSG_33xx
    minutes of 22 Jun 2020, flagged as unreliable, the 16th month in succession)'."""
    parts = [words.value_text(row["value"], row["unit"]), *sentences.value_marks(row, flagged=True)]
    if row["direction"] == "lower":
        parts.append("lower is better")
    return "(" + ", ".join([*parts, *(e for e in extra if e)]) + ")"


def _run_words(row: pd.Series, level: str = "target") -> str:
    """'the 16th month in succession' ('the 20th reported month ...' when months inside it were not
    reported); '' for a first month or an inferred figure (whose run counts reported months only)."""
    run = int(row["run_below_minimum"] if level == "minimum" else row["run_below_target"])
    if run < 2 or row["inferred"]:
        return ""
    return words.in_succession(run, reported=level == "target" and int(row["run_gap_months"]) > 0)


def _once(rows: pd.DataFrame) -> pd.DataFrame:
    """The figures a list names: a part (CSP C, CSP S) left out where its combination (CSP C&S) is named
    for the same measure, as the counts leave it out."""
    keep = []
    for _, r in rows.iterrows():
        groups = [g for g, parts in PROVIDER_PARTS.items() if r["provider"] in parts]
        keep.append(not any(((rows["measure"] == r["measure"]) & (rows["provider"] == g)).any() for g in groups))
    return rows[pd.Series(keep, index=rows.index, dtype=bool)]


def _cpm_sentence(month: date, cpms: pd.DataFrame, feeders: dict) -> str:
    """'In April 2020 CPM1 was below target overall (98.32%) and in CSP N (97.03%), for the 16th month in
    succession in each; it was held below target by PM2 in CSP N, ... at 54.80%, below its minimum.'"""
    misses = cpms[cpms["status"].isin(MISSES)]
    lead = f"In {words.month_label(month)}"
    if misses.empty:
        if (cpms["status"] == "no_data").any():
            return f"{lead} no Code Performance Measure reported was below target."
        return f"{lead} every Code Performance Measure met its target."
    groups = _by_measure(misses)
    if len(groups) > 2:  # many: name them, the sections give the figures
        named = [words.where(m, list(g["provider"])) for m, g in groups]
        return (
            f"{lead} {len(misses)} Code Performance Measure figures were below target: {words.listing(named, LISTED)}."
        )
    parts = []
    for measure, group in groups:
        runs = {_run_words(r) for _, r in group.iterrows()}
        same_run = len(runs) == 1 and not group["inferred"].any()
        minimum = (group["status"] == "below_minimum").all()
        places = [
            f"{_place(r)} "
            + _details(
                r,
                "below its minimum" if r["status"] == "below_minimum" and not minimum else "",
                "" if same_run else _run_words(r),
            )
            for _, r in group.iterrows()
        ]
        text = f"{measure} was {'below its minimum' if minimum else 'below target'} {words.listing(places)}"
        run = runs.pop() if same_run else ""
        if run:
            text += f", for {run}" + (" in each" if len(group) > 1 else "")
        # What held it down, and where: the regions that share the same causes named together.
        by_causes: dict[tuple, list[str]] = {}
        causes: dict[tuple, pd.Series] = {}
        for _, r in group.iterrows():
            found = feeders.get((r["measure"], r["provider"]), [])
            key = tuple((f["measure"], f["provider"]) for f in found)
            causes.update({(f["measure"], f["provider"]): f for f in found})
            if key:
                by_causes.setdefault(key, []).append(_place(r))
        union = tuple(causes)
        if any(set(key) == set(union) for key in by_causes) and len(by_causes) > 1:
            by_causes = {union: [_place(r) for _, r in group.iterrows()]}  # the overall's causes hold all
        for key, where in by_causes.items():
            held = sentences.feeders_text([causes[k] for k in key], None)
            lead_in = "it" if len(where) == len(group) else f"{words.listing(where)} it"
            text += f"; {lead_in} was held below target by {held}"
        parts.append(text)
    return f"{lead} " + "; ".join(parts) + "."


def _keyed(frame: pd.DataFrame, keys: set, inside: bool = True) -> pd.DataFrame:
    """The rows of `frame` whose (measure, provider) is (or, `inside` false, is not) in `keys`."""
    mask = pd.Series(
        [(m, p) in keys for m, p in zip(frame["measure"], frame["provider"])], index=frame.index, dtype=bool
    )
    return frame[mask if inside else ~mask]


def _sp_sentences(now: pd.DataFrame, merged: pd.DataFrame, feeders: dict) -> list[str]:
    """The Service Provider measures below target or minimum not already named as a CPM's cause: those
    that fell to that level this month, those that remained there (for how long), those with nothing
    before to compare with; then the figures back at target."""
    named = {(f["measure"], f["provider"]) for found in feeders.values() for f in found}
    sp = _keyed(now[~now["measure"].str.startswith("CPM") & now["status"].isin(MISSES)], named, inside=False)
    sp = _once(sp)
    compared_keys = set(zip(merged["measure"], merged["provider"]))
    out = []
    for status, level in (("below_minimum", "minimum"), ("below_target", "target")):
        at_level = sp[sp["status"] == status]
        run_of = "run_below_minimum" if level == "minimum" else "run_below_target"
        groups = (
            ("fell below", _keyed(at_level[at_level[run_of] == 1], compared_keys)),
            ("remained below", at_level[at_level[run_of] > 1]),
            ("were below", _keyed(at_level[at_level[run_of] <= 1], compared_keys, inside=False)),
        )
        for label, rows in groups:
            if rows.empty:
                continue
            items = [_at(r, _run_words(r, level) if label == "remained below" else "") for _, r in rows.iterrows()]
            verb = "was below" if label == "were below" and len(items) == 1 else label
            where = ("its minimum" if len(items) == 1 else "minimum") if level == "minimum" else "target"
            out.append(f"{words.listing(items, LISTED)} {verb} {where}.")
    back = _once(returned(merged))
    if not back.empty:
        groups = [words.where(m, list(g["provider"])) for m, g in _by_measure(back)]
        out.append(f"{words.listing(groups, LISTED)} returned to target.")
    return out


def _count_sentence(now: pd.DataFrame) -> str:
    """'12 of 14 CPM and 24 of 27 Service Provider figures met target (overall, DSP, CSP N and CSP C&S,
    which covers CSP C and CSP S); CPM8 overall was not reported.'"""
    providers = list(now.sort_values("provider_order")["provider"].drop_duplicates())
    counted = counted_once(providers)
    rows = now[now["provider"].isin(counted)]
    parts = []
    for label, part in (
        ("CPM", rows[rows["measure"].str.startswith("CPM")]),
        ("Service Provider", rows[~rows["measure"].str.startswith("CPM")]),
    ):
        if not part.empty:
            parts.append(f"{int((part['status'] == 'met').sum())} of {len(part)} {label}")
    if not parts:
        return ""
    names = ["overall" if p == "DCC" else p for p in counted]
    covers = [words.listing(list(m)) for g, m in PROVIDER_PARTS.items() if g in counted and set(m) & set(providers)]
    if covers and names[-1] in PROVIDER_PARTS:
        names[-1] += f", which covers {covers[0]}"
    text = f"{words.listing(parts)} figures met target ({words.listing(names)})"
    unreported = rows[rows["status"] == "no_data"]
    if not unreported.empty:
        missing = [sentences.who(r) for _, r in unreported.iterrows()]
        text += f"; {words.listing(missing, LISTED)} {'was' if len(missing) == 1 else 'were'} not reported"
    return text + "."


def reissue_sentences(groups: list[dict]) -> list[str]:
    return [
        f"{g['source']} ({words.day_label(g['issued'])}) revised {g['what']}."
        if g["issued"]
        else f"{g['source']} revised {g['what']}."
        for g in groups
    ]


def _caveats(now: pd.DataFrame, said: list, named: set) -> str:
    """The data caveats, once: unreliable figures not already said so beside their value (`named`),
    inferred ones, where the minutes said otherwise, unverified service levels."""
    caveats = []
    unreliable = now[now["unreliable"].astype(bool)]
    unreliable = unreliable[[(m, p) not in named for m, p in zip(unreliable["measure"], unreliable["provider"])]]
    if not unreliable.empty:
        names = [sentences.who(r) for _, r in unreliable.iterrows()]
        caveats.append(f"{words.listing(names, LISTED)} {'is' if len(names) == 1 else 'are'} flagged as unreliable")
    inferred = int(now["inferred"].sum())
    if inferred:
        caveats.append(f"{words.plural(inferred, 'figure')} {'is' if inferred == 1 else 'are'} inferred, not reported")
    caveats += [d.short for d in said]
    if not now["level_verified"].astype(bool).all():
        caveats.append(words.LEVELS_UNVERIFIED[0].lower() + words.LEVELS_UNVERIFIED[1:])
    if not caveats:
        return ""
    return f"Caveats: {'; '.join(caveats)}."


def headline(
    now: pd.DataFrame, merged: pd.DataFrame, month: date, feeders: dict, reissues: list[dict], said: list
) -> list[Finding]:
    """The headline: one paragraph a Panel paper can take as it is (what was below target or minimum,
    where, for how long, why, what changed, the caveats), with the counts behind it."""
    cpms = now[now["measure"].str.startswith("CPM")]
    others = _sp_sentences(now, merged, feeders)
    if not cpms.empty:
        sentences_ = [_cpm_sentence(month, cpms, feeders), *others]
    elif others:  # no CPM loaded: the month leads the first statement
        sentences_ = [f"In {words.month_label(month)}, {others[0]}", *others[1:]]
    else:
        sentences_ = [f"In {words.month_label(month)} no measure loaded was below target."]
    sentences_.append(_count_sentence(now))
    sentences_ += reissue_sentences(reissues)
    # The figures the paragraph names with their value (and so with "flagged as unreliable" when they are).
    named = {(f["measure"], f["provider"]) for found in feeders.values() for f in found}
    named |= {(m, p) for m, p, s in zip(now["measure"], now["provider"], now["status"]) if s in MISSES}
    sentences_.append(_caveats(now, said, named))
    text = " ".join(s for s in sentences_ if s)
    counted = now[now["provider"].isin(counted_once(list(now["provider"].drop_duplicates())))]
    counts = counted["status"].value_counts()
    return [
        Finding(
            "headline",
            HEADLINE,
            text,
            figures={
                "figures counted": len(counted),
                **{words.STATUS_LABELS[s]: int(counts.get(s, 0)) for s in words.STATUS_LABELS},
                "inferred": int(now["inferred"].sum()),
                "unreliable": int(now["unreliable"].sum()),
            },
        )
    ]
