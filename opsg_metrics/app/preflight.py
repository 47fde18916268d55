"""Before the app starts (make run): refuse a team configuration that cannot be served safely.

    python -m opsg_metrics.app.preflight [--serve] [.streamlit/secrets.toml]

Exits 0 for local mode (no file, or no [auth] section) or a complete team configuration; otherwise prints
each problem and exits 1, so `make run` does not start the server. With --serve (`make serve`), local mode
is refused too: a service for a group needs sign-in."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from opsg_metrics.app import access

DEFAULT = Path(".streamlit/secrets.toml")


def problems(path: Path) -> list[str]:
    """What keeps the configuration in `path` from being served (empty when nothing does)."""
    if not path.exists():
        return []
    try:
        secrets = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        return [f"{path}: cannot be read: {exc}"]
    return [f"{path}: {problem}" for problem in access.config_problems(secrets)]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    serve = "--serve" in args  # `make serve`: a service for a group, so sign-in is required
    args = [a for a in args if a != "--serve"]
    path = Path(args[0]) if args else DEFAULT
    found = problems(path)
    if serve and not found and (not path.exists() or access.mode_of(tomllib.loads(path.read_text("utf-8"))) == "local"):
        found = [
            f"{path}: no [auth] section: 'make serve' runs the app for a group, which needs sign-in (team mode; "
            "see the README, 'Setting up team mode'). For this machine alone use 'make run'"
        ]
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    if found:
        print(
            "OPSG Metrics is not started: fix the sign-in configuration (see the README, 'Sign-in').", file=sys.stderr
        )
        return 1
    mode = access.mode_of(tomllib.loads(path.read_text(encoding="utf-8"))) if path.exists() else "local"
    print(f"OPSG Metrics: {mode} mode" + (" (only this machine can reach the app)" if mode == "local" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
