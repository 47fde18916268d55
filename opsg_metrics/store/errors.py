"""The errors a person can act on: every layer raises these, and the command line and the pages show
their message (never a traceback)."""

from __future__ import annotations


class OpsgError(Exception):
    """A problem the user can fix (bad input, missing database, ...).

    The command line prints the message without a traceback and exits non-zero.
    """


class SchemaVersionError(OpsgError):
    """The database file was written by an older or newer OPSG Metrics."""
