"""Shared fixtures: tiny in-memory databases, one sample database per test session, the app served
for a real browser."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from opsg_metrics.ingest import bootstrap
from opsg_metrics.ingest.load import ingest_bytes
from opsg_metrics.store import connect as db
from opsg_metrics.store.catalogue import load_providers

REPO = Path(__file__).resolve().parent.parent

# A small catalogue for rule tests: M1 changes its levels in 2019; L1 is lower-is-better.
TEST_CATALOGUE = """\
measure,provider,name,unit,direction,target,minimum,effective_from,effective_to,source,verified,description
M1,DCC,Higher is better,percent,higher,99,96,2018-01,,test fixture,true,a test measure
M1,DCC,Higher is better,percent,higher,95,90,2019-01,,test fixture,true,a test measure
M1,CSP N,Higher is better,percent,higher,99,96,2018-01,,test fixture,true,a test measure
L1,DSP,Lower is better,minutes,lower,10,20,2018-01,,test fixture,true,minutes to respond
"""


# Every table a load may write: a rejected file must leave each exactly as it was.
TABLES = (
    "measure_values",
    "incidents",
    "alerts",
    "ops_figures",
    "annotations",
    "sources",
    "ingest_log",
    "measures",
    "service_levels",
    "meetings",
    "actions",
    "action_targets",
    "action_statuses",
    "decisions",
    "commentary",
    "event_partitions",
)


def snapshot(con) -> dict:
    """Every row of every table a load may write, comparable before and after."""
    return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES}


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    """A workbook with the given sheets (title -> rows), made by openpyxl."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def cli(*args, env_db=None, check=None):
    """The command line as a separate process (for exit codes and `python -m`)."""
    env = {k: v for k, v in os.environ.items() if k != "OPSG_DB"}
    if env_db:
        env["OPSG_DB"] = str(env_db)
    proc = subprocess.run(
        [sys.executable, "-m", "opsg_metrics", *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def run_cli(*args, check=None, env_db=None) -> tuple[int, str, str]:
    """The command line in this process, through cli.main: (exit code, stdout, stderr)."""
    result = cli_here(*args, check=check, env_db=env_db)
    return result.returncode, result.stdout, result.stderr


def cli_here(*args, check=None, env_db=None):
    """The command line in this process (as `cli`, without starting one): returncode, stdout and stderr.
    argparse's exits (help, usage errors) are exit codes here too."""
    from types import SimpleNamespace

    from opsg_metrics import cli as command_line

    out, err = io.StringIO(), io.StringIO()
    saved = os.environ.pop("OPSG_DB", None)
    if env_db:
        os.environ["OPSG_DB"] = str(env_db)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = command_line.main([str(a) for a in args])
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        os.environ.pop("OPSG_DB", None)
        if saved is not None:
            os.environ["OPSG_DB"] = saved
    result = SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())
    if check is not None:
        assert code == check, (code, result.stdout, result.stderr)
    return result


def read_marked_csv(raw: bytes) -> tuple[str, list[dict]]:
    """A CSV the product wrote: (its classification line, its rows as dicts)."""
    import csv
    import io

    text = raw.decode("utf-8-sig")
    marking, body = text.split("\n", 1)
    assert marking.startswith("Classification: "), marking
    return marking, list(csv.DictReader(io.StringIO(body)))


def load_text(con, text: str, name: str = "test.csv", **options):
    """Ingest CSV text (dedented) and return the result."""
    return ingest_bytes(con, textwrap.dedent(text).encode("utf-8"), name, **options)


@pytest.fixture
def fresh_db():
    """An in-memory database with the schema, the providers and the test catalogue."""
    con = db.connect(":memory:")
    load_providers(con)
    result = load_text(con, TEST_CATALOGUE, "catalogue.csv", kind="catalogue")
    assert result.outcome == "loaded", result.problems
    yield con
    con.close()


@pytest.fixture
def catalogue_db():
    """An in-memory database with the schema and the real bundled catalogue."""
    con = db.connect(":memory:")
    bootstrap.load_reference_data(con)
    yield con
    con.close()


@pytest.fixture(scope="session")
def sample_db_path(tmp_path_factory) -> Path:
    """A database file built like `init --sample`, shared read-only by the session's tests."""
    path = tmp_path_factory.mktemp("sample") / "opsg.duckdb"
    con = db.connect(path)
    bootstrap.initialise(con, sample=True)
    con.close()
    return path


@pytest.fixture
def sample_db(sample_db_path):
    con = db.connect(sample_db_path, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def app_db_path(sample_db_path, tmp_path_factory) -> Path:
    """A copy of the sample database for AppTest sessions: the app holds its database read-write
    (in this process), which would lock out the CLI subprocesses reading the original."""
    import shutil

    path = tmp_path_factory.mktemp("app") / "opsg.duckdb"
    shutil.copy(sample_db_path, path)
    return path


# ---------------------------------------------------------------- team mode: people and an AMBER reissue
# The team database: the sample, an AMBER reissue of a WHITE figure (CPM1 DCC, December 2021: 99.29 in
# the WHITE PMR, AMBER_VALUE in the reissue) and an AMBER incident, and one person of each role.
AMBER_VALUE = 93.21
AMBER_SOURCE = "PMR December 2021 issue 2 (AMBER reissue)"
AMBER_INCIDENT = "INC000000999999"
TEAM = {
    # sub -> (email, name, role, clearance)
    "admin-sub": ("admin@example.org", "Ada Admin", "admin", "red"),
    "secretariat-sub": ("secretariat@example.org", "Sam Secretariat", "secretariat", "amber"),
    "viewer-sub": ("viewer@example.org", "Val Viewer", "viewer", "white"),
}


def team_auth(app_port: int = 8501, provider: str = "http://127.0.0.1:9") -> dict:
    """An [auth] section for team mode (the provider's discovery document under `provider`)."""
    return {
        "redirect_uri": f"http://127.0.0.1:{app_port}/oauth2callback",
        "cookie_secret": "a-test-cookie-secret-of-forty-characters!",
        "client_id": "opsg-metrics",
        "client_secret": "test-client-secret",
        "server_metadata_url": f"{provider}/.well-known/openid-configuration",
    }


@pytest.fixture(scope="session")
def team_db_path(sample_db_path, tmp_path_factory) -> Path:
    """The sample with an AMBER reissue and an AMBER incident, and the TEAM people."""
    from opsg_metrics.store import people

    path = tmp_path_factory.mktemp("team") / "opsg.duckdb"
    shutil.copy(sample_db_path, path)
    con = db.connect(path)
    try:
        reissue = f"month,measure,provider,value,status\n2021-12,CPM1,DCC,{AMBER_VALUE},reported\n"
        assert ingest_bytes(con, reissue.encode(), "reissue.csv", source=AMBER_SOURCE, classification="amber").ok
        incident = (
            "incident_id,opened,resolved,category,provider,major,title,root_cause\n"
            f"{AMBER_INCIDENT},2021-12-03 09:00,,1,DSP,true,Restricted outage of the DSP,\n"
        )
        assert ingest_bytes(
            con, incident.encode(), "incident.csv", source="Incident log (AMBER)", classification="amber"
        ).ok
        for sub, (email, name, role, level) in TEAM.items():
            people.add(con, email, role=role, clearance=level, name=name, subject=sub, by="test")
    finally:
        con.close()
    return path


# ---------------------------------------------------------------- request records


@pytest.fixture
def own_sample_db(sample_db_path, tmp_path) -> Path:
    """A copy of the sample database of the test's own (a file: loads write beside it)."""
    path = tmp_path / "opsg.duckdb"
    shutil.copy(sample_db_path, path)
    return path


EVENTS_SCALE = 1_000_000  # the synthetic request records of the tests: a million rows, every month and series


@pytest.fixture(scope="session")
def events_sample(tmp_path_factory, sample_db_path) -> list[Path]:
    """The synthetic request records (sample_events.py) made from the sample's PMR figures, as files."""
    from opsg_metrics import sample_events

    out = tmp_path_factory.mktemp("events-files")
    con = db.connect(sample_db_path, read_only=True)
    try:
        return sample_events.generate(con, out, EVENTS_SCALE, progress=lambda _m: None)
    finally:
        con.close()


@pytest.fixture(scope="session")
def events_db_path(sample_db_path, events_sample, tmp_path_factory) -> Path:
    """A copy of the sample database with the synthetic request records loaded (AMBER, the default)."""
    from opsg_metrics.ingest.events import load_events

    path = tmp_path_factory.mktemp("events") / "opsg.duckdb"
    shutil.copy(sample_db_path, path)
    for file in events_sample:
        result = load_events(path, file)
        assert result.outcome == "loaded", (result.message, result.problems[:5])
    return path


@pytest.fixture
def open_app(app_db_path, monkeypatch):
    """Run the app under AppTest on (a copy of) the sample database, with URL parameters, on a page."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("OPSG_DB", str(app_db_path))

    def open_(page: str | None = None, **query):
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        return at.switch_page(page).run() if page else at

    return open_


# ---------------------------------------------------------------- the app in a real browser
# Playwright never downloads a browser here: it launches the system chromium through executable_path.
# `make test` installs chromium when it is missing.

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        # make test installs chromium when it can (as root); only when no browser can be had do these skip.
        pytest.skip(
            "no browser: Debian's chromium is not installed and 'make test' could not install it "
            "(run it as root, or 'apt-get install chromium')"
        )
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(
    db_path,
    secrets: Path | None = None,
    port: int | None = None,
    *,
    script: Path | None = None,
    log: Path | None = None,
):
    """`streamlit run app.py` (or `script`, such as the production server) on a free localhost port, stopped
    afterwards: in local mode, or in team mode with the secrets file given (never the machine's own
    ~/.streamlit/secrets.toml); its output written to `log` when given."""
    port = port or free_port()
    env = {**os.environ, "OPSG_DB": str(db_path)}
    if secrets is None:
        secrets = Path(db_path).with_name("no-secrets.toml")
        secrets.write_text("")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script or REPO / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--secrets.files",
            str(secrets),
        ],
        cwd=REPO,
        env=env,
        stdout=open(log, "w") if log else subprocess.PIPE,  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the app did not start within 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright, one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield instance
        instance.close()
