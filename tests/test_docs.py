"""The README keeps up with the code: a command, an option, a role, a clearance, a setting of the sign-in
configuration, an audit action or a table that the README does not name fails here (as datasette does)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from opsg_metrics.app import access
from opsg_metrics.cli import build_parser
from opsg_metrics.store import people
from opsg_metrics.store.classification import ORDER

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The README's `## title` section (up to the next `## `)."""
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert found, f"README has no section '## {title}'"
    return found.group(1)


def subcommands(parser: argparse.ArgumentParser, prefix: str = ""):
    """(command path, its parser) for every command and verb."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub
                yield from subcommands(sub, f"{prefix}{name} ")


COMMANDS = list(subcommands(build_parser()[0]))


@pytest.mark.parametrize("command, parser", COMMANDS, ids=[c for c, _ in COMMANDS])
def test_every_command_and_its_options_are_in_the_readme(command, parser):
    usage = section("Command line")
    assert f"python -m opsg_metrics [--db PATH] {command.split()[0]}" in usage
    if " " in command:
        assert command in usage
    for action in parser._actions:
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                assert option in usage, f"'{command} {option}' is not in the README's Command line"


def test_every_role_and_clearance_is_documented():
    sign_in = section("Sign-in, roles and clearance")
    for role in people.ROLES:
        assert f"| `{role}` |" in sign_in
    for level in ORDER:
        assert f"`{level}`" in sign_in
    for setting in access.REQUIRED_AUTH:
        assert f"`{setting}`" in sign_in


def test_every_audit_action_is_documented():
    schema = (ROOT / "opsg_metrics" / "store" / "schema.sql").read_text(encoding="utf-8")
    actions = set(re.findall(r'"(sign-in|refused|load|export|people)"', Path(people.__file__).read_text()))
    used = set()
    for path in (ROOT / "opsg_metrics").rglob("*.py"):
        used |= set(re.findall(r'record\([^)]*?,\s*[^,]*?,\s*"([a-z-]+)"', path.read_text(encoding="utf-8")))
    assert used, "no audit action found in the code (the pattern above went stale)"
    for action in used | actions:
        assert f"`{action}`" in section("Data model"), f"audit action '{action}' is not in the README"
        assert action in schema


def test_every_table_of_the_schema_is_in_the_data_model(sample_db):
    tables = {
        name
        for (name,) in sample_db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE'"
        ).fetchall()
    }
    model = section("Data model")
    for table in sorted(tables - {"schema_migrations", "status_cache", "status_cache_meta"}):
        named = f"`{table}`" in model or (table.startswith("restated_") and "`restated_" in model)
        assert named, f"table '{table}' is not in the README's Data model"


def test_every_room_of_the_package_is_in_the_architecture():
    for path in sorted((ROOT / "opsg_metrics").rglob("*.py")):
        if path.name == "__init__.py" or path.parent.name == "opsg_metrics":
            continue
        assert path.name in ARCHITECTURE, f"{path.relative_to(ROOT)} is not described in docs/architecture.md"
