"""The Events page's URL contract (`events?measure=PM2&provider=CSP+N&month=2020-04&day=2020-04-14`): read
with its warnings and written back, as app/requests.py does for the other pages. No Streamlit here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from opsg_metrics.app.markup import md_escape
from opsg_metrics.app.params import LinkReader, Params
from opsg_metrics.app.requests import URLParams

DEFAULT_SERIES = ("PM2", "CSP N")  # the series the minutes complain of, when a link names none loaded


@dataclass(frozen=True)
class EventsRequest:
    """One series and month of request records, and a day of it to drill into ('' for none)."""

    measure: str
    provider: str
    month: str  # YYYY-MM
    day: str = ""  # YYYY-MM-DD

    @property
    def month_date(self) -> date:
        return date.fromisoformat(self.month + "-01")

    @property
    def day_date(self) -> date | None:
        return date.fromisoformat(self.day) if self.day else None


def read_events(params: Params, loaded: Sequence[tuple[date, str, str, int]]) -> tuple[EventsRequest | None, list[str]]:
    """The series, month and day a link asks for, among those with request records loaded (`loaded`:
    month, measure, provider, rows); None when nothing is loaded."""
    link = LinkReader(params)
    if not loaded:
        return None, link.warnings
    series = list(dict.fromkeys((m, p) for _, m, p, _ in loaded))
    measures = list(dict.fromkeys(m for m, _ in series))
    default = DEFAULT_SERIES if DEFAULT_SERIES in series else series[0]
    measure = link.choice("measure", measures, default[0])
    providers = [p for m, p in series if m == measure]
    provider = link.choice("provider", providers, default[1] if default[1] in providers else providers[0])
    months = [f"{m:%Y-%m}" for m, me, p, _ in loaded if (me, p) == (measure, provider)]
    month = link.get("month")
    if month is not None and month not in months:
        link.warn(
            f"The link asks for month '{md_escape(month)}', which has no request records of {md_escape(measure)} "
            f"{md_escape(provider)}; showing {months[-1]}."
        )
        month = None
    month = month or months[-1]
    day = link.get("day") or ""
    if day and not day.startswith(month + "-"):
        link.warn(f"The link asks for day '{md_escape(day)}', which is not in {month}; showing the month.")
        day = ""
    if day:
        try:
            date.fromisoformat(day)
        except ValueError:
            link.warn(f"The link asks for day '{md_escape(day)}', which is no day; showing the month.")
            day = ""
    return EventsRequest(measure, provider, month, day), link.warnings


def events_params(request: EventsRequest) -> URLParams:
    """The request as the page's URL writes it."""
    params = {"measure": request.measure, "provider": request.provider, "month": request.month}
    return {**params, "day": request.day} if request.day else params


def events_link(request: EventsRequest) -> str:
    """A link to the Events page showing `request` (from the summary or another page)."""
    return "events?" + urlencode(events_params(request))
