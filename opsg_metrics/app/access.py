"""Who is using the app, decided from its configuration and the person signed in (no Streamlit here).

Two modes, chosen by `.streamlit/secrets.toml`:

- local (no `[auth]` section): what `make run` does. Only this machine may reach the app (the server
  listens on 127.0.0.1, and a request from elsewhere is refused); the person at the machine is the owner,
  an administrator cleared for everything.
- team (`[auth]` present): every page needs sign-in with OpenID Connect (Streamlit's `st.login`); the
  person signed in is looked up in the people table (by their OIDC subject, else their email), or else
  given a role and clearance by a rule of the configuration (`[opsg.access]`, mapping a claim such as
  `groups`); anyone else sees "no access yet". The app refuses to serve with a missing or short
  `cookie_secret`.
"""

from __future__ import annotations

import getpass
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb

from opsg_metrics.store import people
from opsg_metrics.store.classification import ORDER
from opsg_metrics.store.people import Person

MIN_COOKIE_SECRET = 32
REQUIRED_AUTH = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
LOCAL_BANNER = "Local mode: not signed in; only this machine can reach the app"


@dataclass(frozen=True)
class Access:
    """The outcome of a request: who it is (or why nobody), and what to show."""

    person: Person | None
    state: str  # "local", "signed-in", "sign-in" (not signed in), "no-access", "refused"
    message: str = ""


def mode_of(secrets: Mapping) -> str:
    """'team' when the configuration has an [auth] section, else 'local'."""
    return "team" if isinstance(secrets.get("auth"), Mapping) else "local"


def config_problems(secrets: Mapping) -> list[str]:
    """Why a team configuration cannot be served (empty when it can): a setting missing, a short secret."""
    if mode_of(secrets) != "team":
        return []
    auth = secrets["auth"]
    problems = [f"[auth] {name} is missing" for name in REQUIRED_AUTH if not str(auth.get(name, "")).strip()]
    secret = str(auth.get("cookie_secret", ""))
    if "replace-with" in secret:
        problems.append("[auth] cookie_secret is still the example's placeholder; make a random one")
    elif secret and len(secret) < MIN_COOKIE_SECRET:
        problems.append(
            f"[auth] cookie_secret has {len(secret)} characters; use at least {MIN_COOKIE_SECRET} random "
            'ones (for example: python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    redirect = str(auth.get("redirect_uri", "")).strip()
    if redirect and not re.fullmatch(r"https?://[^/\s]+(/[^\s]*)?/oauth2callback", redirect):
        problems.append(
            f"[auth] redirect_uri must be the app's address followed by /oauth2callback "
            f"(for example https://opsg-metrics.example.org/oauth2callback), not {redirect[:80]!r}"
        )
    rules = secrets.get("opsg", {}).get("access", {}) if isinstance(secrets.get("opsg"), Mapping) else {}
    for group, grant in dict(rules.get("groups", {})).items():
        if (
            not isinstance(grant, Mapping)
            or grant.get("role") not in people.ROLES
            or grant.get("clearance") not in ORDER
        ):
            problems.append(
                f"[opsg.access.groups] {group!r} needs a role ({', '.join(people.ROLES)}) and a clearance "
                f"({', '.join(ORDER)})"
            )
    return problems


def is_loopback(address: object) -> bool:
    """Whether a client address is this machine. Streamlit gives None for this machine (and for no address
    known, as under a test harness); anything but a string is taken as no address. A second guard only: in
    local mode the server listens on 127.0.0.1 (make run), so no other machine reaches it at all."""
    if not isinstance(address, str):
        return True
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return address == "localhost"


def local_owner() -> Person:
    """The person at the machine in local mode."""
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        name = "local user"
    return people.owner(name)


def _granted(user: Mapping, secrets: Mapping) -> Person | None:
    """A person given access by a rule of the configuration: the most privileged grant among their groups."""
    opsg = secrets.get("opsg", {}) if isinstance(secrets.get("opsg"), Mapping) else {}
    rules = opsg.get("access", {}) if isinstance(opsg.get("access"), Mapping) else {}
    claim = rules.get("claim", "groups")
    groups = user.get(claim) or []
    groups = [groups] if isinstance(groups, str) else list(groups)
    grants = [g for name, g in dict(rules.get("groups", {})).items() if name in groups]
    grants = [g for g in grants if g.get("role") in people.ROLES and g.get("clearance") in ORDER]
    if not grants:
        return None
    best = max(grants, key=lambda g: (people.ROLES.index(g["role"]), ORDER.index(g["clearance"])))
    return Person(
        email=str(user.get("email", "")).lower(),
        name=str(user.get("name", "")),
        role=best["role"],
        clearance=best["clearance"],
        subject=user.get("sub"),
    )


def resolve(con: duckdb.DuckDBPyConnection, secrets: Mapping, user: Mapping, client_address: str | None) -> Access:
    """Who a request is from and what it may see, from the configuration, the OIDC user (st.user as a
    mapping) and the client's address."""
    if mode_of(secrets) == "local":
        if not is_loopback(client_address):
            return Access(
                None,
                "refused",
                "This app runs in local mode (no sign-in) and serves only the machine it "
                "runs on. Configure sign-in ([auth] in .streamlit/secrets.toml) to serve others.",
            )
        return Access(local_owner(), "local", LOCAL_BANNER)
    if not user.get("is_logged_in"):
        return Access(None, "sign-in")
    subject, email = user.get("sub"), user.get("email")
    person = people.find(con, subject=subject, email=email) if (subject or email) else None
    if person is None:
        person = _granted(user, secrets)
    if person is None:
        return Access(
            None, "no-access", f"No access yet: ask an administrator to add you ({email or subject or 'your account'})."
        )
    if person.name == "" and user.get("name"):
        person = Person(person.email, str(user["name"]), person.role, person.clearance, person.subject)
    return Access(person, "signed-in")
