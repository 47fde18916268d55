"""Reading a URL's parameters one by one: the checks every page's link shares (a choice, a number, a month, a
period) with the warnings they give, and the catalogue look-ups the links need. No Streamlit.

Warnings are Markdown, ready to show: text from the link is escaped in them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opsg_metrics import words
from opsg_metrics.app.markup import md_escape
from opsg_metrics.store import parse

Params = Mapping[str, Sequence[str]]  # a URL's parameters: each name with every value it is given


class LinkReader:
    """The parameters of one link, read one by one, and the warnings reading them gives (in that order)."""

    def __init__(self, params: Params):
        self.params = params
        self.warnings: list[str] = []

    def all(self, name: str) -> list[str]:
        """Every value of `name`, in order."""
        return list(self.params.get(name) or ())

    def get(self, name: str, default: str | None = None) -> str | None:
        """The last value of `name`, as st.query_params.get gives it."""
        values = self.params.get(name)
        return values[-1] if values else default

    def warn(self, text: str) -> None:
        """A warning (Markdown: text from the link already escaped in it)."""
        self.warnings.append(text)

    def problems(self, problems: Sequence[str]) -> None:
        """A message from the library for each thing not understood; the rest of the link is shown."""
        for problem in problems:
            self.warn(f"{md_escape(problem)}. The rest of the link is shown.")

    def flag(self, name: str, default: bool) -> bool:
        """'0' is off; any other value on; the default when not given."""
        value = self.get(name)
        return default if value is None else value != "0"

    def choice(self, name: str, options: Sequence[str], default: str) -> str:
        """The value of `name` if it is one of `options`; a warning and the default otherwise."""
        value = self.get(name)
        if value is None:
            return default
        if value not in options:
            self.warn(
                f"The link asks for {name} '{md_escape(value)}', which is not available here; "
                f"showing {md_escape(default)} instead."
            )
            return default
        return value

    def integer(self, name: str, low: int, high: int, default: int) -> int:
        """A whole number from `low` to `high`; a warning and the default otherwise."""
        value = self.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            self.warn(
                f"The link asks for {name} '{md_escape(value)}', which is not a number from {low} to {high}; "
                f"using {default}."
            )
            return default
        return number

    def month(self, name: str, months: Sequence[str], default: str) -> str:
        """A YYYY-MM parameter, clamped into the months available; a warning only if it is no month at all,
        or if the whole range it bounds falls outside them."""
        value = self.get(name)
        if value is None:
            return default
        try:
            key = words.month_key(parse.parse_month(value))
        except ValueError as exc:
            self.warn(f"The link asks for {name} '{md_escape(value)}': {md_escape(str(exc))}; using {default} instead.")
            return default
        clamped = min(max(key, months[0]), months[-1])
        if clamped != key and (key < months[0] and name == "to" or key > months[-1] and name == "from"):
            self.warn(
                f"The link asks for {name} {key}, outside the months loaded ({months[0]} to {months[-1]}); "
                f"showing {clamped}."
            )
        return clamped

    def period(self, months: Sequence[str], default_start: str) -> tuple[str, str]:
        """The `from`/`to` months, within the months loaded (oldest first), the right way round."""
        start = self.month("from", months, default_start)
        end = self.month("to", months, months[-1])
        if start > end:
            self.warn("The link's range starts after it ends; showing it the right way round.")
            start, end = end, start
        return start, end


def last_months(months: Sequence[str], count: int) -> str:
    """The first of the last `count` months (oldest first): where a page's default period starts."""
    return months[max(0, len(months) - count)]
