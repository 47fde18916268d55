"""People, their roles and clearances, and the audit log.

A person signs in (OpenID Connect, in team mode) and is looked up here by their subject or email: their
role says what they may do, their clearance what they may see (store/clearance.py).

- viewer: read and export within their clearance;
- secretariat: also load files (and write the review record);
- admin: also manage people and the catalogue.

The audit log is appended to and never changed: sign-ins, refusals, loads, exports, changes to people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from opsg_metrics.store.classification import ORDER as CLEARANCES
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.text import person_name

ROLES = ("viewer", "secretariat", "admin")
# What each action needs: the least role that may do it.
NEEDS = {
    "read": "viewer",
    "export": "viewer",
    "load": "secretariat",
    "write_record": "secretariat",
    "manage_people": "admin",
    "load_catalogue": "admin",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class Person:
    """Who is using the app, with what rights."""

    email: str
    name: str
    role: str
    clearance: str
    subject: str | None = None

    def __post_init__(self) -> None:
        # However the person was made (the table, a sign-in claim, a group rule), the name is one line.
        object.__setattr__(self, "name", person_name(self.name))

    @property
    def shown_name(self) -> str:
        return self.name or self.email

    def may(self, action: str) -> bool:
        """Whether this person's role allows `action` (a key of NEEDS)."""
        return ROLES.index(self.role) >= ROLES.index(NEEDS[action])


def owner(name: str) -> Person:
    """The person at the machine in local mode: an administrator cleared for everything."""
    return Person(email="", name=name, role="admin", clearance=CLEARANCES[-1])


def _check(role: str | None, clearance: str | None) -> None:
    if role is not None and role not in ROLES:
        raise OpsgError(f"unknown role '{role}' (use {', '.join(ROLES)})")
    if clearance is not None and clearance not in CLEARANCES:
        raise OpsgError(f"unknown clearance '{clearance}' (use {', '.join(CLEARANCES)})")


def _email(text: str) -> str:
    email = text.strip().lower()
    if not _EMAIL.fullmatch(email) or len(email) > 254:
        raise OpsgError(f"'{text.strip()[:80]}' is not an email address")
    return email


def find(con: duckdb.DuckDBPyConnection, *, subject: str | None = None, email: str | None = None) -> Person | None:
    """The person with this OIDC subject, or else this email; None for someone not in the table."""
    rows = con.execute(
        """SELECT email, name, role, clearance, subject FROM main.people
           WHERE (? IS NOT NULL AND subject = ?) OR (? IS NOT NULL AND email = lower(?))
           ORDER BY (subject = ?) DESC NULLS LAST LIMIT 1""",
        [subject, subject, email, email, subject],
    ).fetchall()
    return Person(*rows[0]) if rows else None


def add(
    con: duckdb.DuckDBPyConnection,
    email: str,
    *,
    role: str,
    clearance: str,
    name: str = "",
    subject: str | None = None,
    by: str = "",
) -> Person:
    """Add a person; OpsgError for an unknown role or clearance or someone already added."""
    _check(role, clearance)
    address = _email(email)
    if find(con, email=address) is not None:
        raise OpsgError(f"{address} is already a person here; change them with 'people set'")
    con.execute(
        "INSERT INTO main.people (email, subject, name, role, clearance, added_by) VALUES (?, ?, ?, ?, ?, ?)",
        [address, subject, person_name(name), role, clearance, by],
    )
    record(con, by, "people", f"added {address} as {role} cleared {clearance}")
    return find(con, email=address)


def _admins(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM main.people WHERE role = 'admin'").fetchall()[0][0]


def set_person(
    con: duckdb.DuckDBPyConnection,
    email: str,
    *,
    role: str | None = None,
    clearance: str | None = None,
    name: str | None = None,
    by: str = "",
) -> Person:
    """Change a person's role, clearance or name; the last administrator cannot stop being one."""
    _check(role, clearance)
    address = _email(email)
    person = find(con, email=address)
    if person is None:
        raise OpsgError(f"{address} is not a person here; add them with 'people add'")
    if person.role == "admin" and role not in (None, "admin") and _admins(con) == 1:
        raise OpsgError(f"{address} is the last administrator; make someone else an administrator first")
    con.execute(
        """UPDATE main.people SET role = coalesce(?, role), clearance = coalesce(?, clearance),
               name = coalesce(?, name) WHERE email = ?""",
        [role, clearance, None if name is None else person_name(name), address],
    )
    changed = find(con, email=address)
    record(con, by, "people", f"set {address}: {changed.role}, cleared {changed.clearance}")
    return changed


def remove(con: duckdb.DuckDBPyConnection, email: str, *, by: str = "") -> None:
    """Remove a person; the last administrator cannot be removed."""
    address = _email(email)
    person = find(con, email=address)
    if person is None:
        raise OpsgError(f"{address} is not a person here")
    if person.role == "admin" and _admins(con) == 1:
        raise OpsgError(f"{address} is the last administrator; make someone else an administrator first")
    con.execute("DELETE FROM main.people WHERE email = ?", [address])
    record(con, by, "people", f"removed {address}")


def remember_subject(con: duckdb.DuckDBPyConnection, email: str, subject: str) -> None:
    """Tie a person added by email to the OIDC subject they signed in with (looked up by it from then on)."""
    con.execute("UPDATE main.people SET subject = ? WHERE email = lower(?) AND subject IS NULL", [subject, email])


def listing(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Everyone, by email: name, role, clearance, who added them and when."""
    return con.execute(
        """SELECT email, name, role, clearance, subject, added_by, strftime(added_at, '%Y-%m-%d %H:%M') AS added_at
           FROM main.people ORDER BY email"""
    ).df()


def record(
    con: duckdb.DuckDBPyConnection,
    who: str,
    action: str,
    what: str = "",
    *,
    month: date | None = None,
    classification: str | None = None,
    detail: str = "",
) -> None:
    """Append one entry to the audit log."""
    con.execute(
        "INSERT INTO main.audit_log (who, action, what, month, classification, detail) VALUES (?, ?, ?, ?, ?, ?)",
        [who or "", action, what[:1000], month, classification, detail[:2000]],
    )


ABOVE_CLEARANCE = "(above your clearance)"


def audit(
    con: duckdb.DuckDBPyConnection, since: date | datetime | None = None, *, clearance: str = CLEARANCES[-1]
) -> pd.DataFrame:
    """The audit log, newest first (since a day, if given). An entry about content marked above `clearance`
    keeps who, what kind of action, when and the marking, not what it names (a file, a source)."""
    admitted = list(CLEARANCES[: CLEARANCES.index(clearance) + 1])
    return con.execute(
        f"""SELECT strftime(logged_at, '%Y-%m-%d %H:%M:%S') AS "when", who, action,
                  CASE WHEN classification IS NULL OR list_contains(?, classification) THEN what
                       ELSE '{ABOVE_CLEARANCE}' END AS what,
                  strftime(month, '%Y-%m') AS month, classification,
                  CASE WHEN classification IS NULL OR list_contains(?, classification) THEN detail
                       ELSE '' END AS detail
           FROM main.audit_log WHERE ? IS NULL OR logged_at >= ?
           ORDER BY audit_id DESC""",
        [admitted, admitted, since, since],
    ).df()
