"""Team mode end to end: the app served by `streamlit run` with sign-in through a real OpenID Connect provider
on 127.0.0.1 (oidc-provider-mock, started here; nothing leaves the machine), driven in Debian's chromium.

What a person is shown is checked in everything the server sends their browser (the websocket's frames:
page text, tables and chart data, the last as Arrow, so the AMBER figure is looked for as text and as
the double it is) and in what they download."""

from __future__ import annotations

import shutil
import struct
import warnings

import pytest

from .conftest import AMBER_INCIDENT, AMBER_SOURCE, AMBER_VALUE, TEAM, free_port, running_app, team_auth

pytestmark = pytest.mark.browser

AMBER_MARKS = (
    str(AMBER_VALUE).encode(),
    struct.pack("<d", AMBER_VALUE),
    AMBER_SOURCE.encode(),
    AMBER_INCIDENT.encode(),
)
STRANGER = "stranger-sub"


@pytest.fixture(scope="module")
def provider():
    """An OpenID Connect provider on 127.0.0.1 that knows the TEAM people and one stranger."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from oidc_provider_mock import User, run_server_in_thread

    users = [User(sub=sub, claims={"email": email, "name": name}) for sub, (email, name, _, _) in TEAM.items()]
    users.append(User(sub=STRANGER, claims={"email": "stranger@example.org", "name": "Sam Stranger"}))
    with run_server_in_thread(0, user_claims=users) as server:
        yield f"http://127.0.0.1:{server.server_port}"


def _secrets_file(folder, port, provider, **changes):
    auth = {**team_auth(port, provider), **changes}
    path = folder / f"secrets-{port}.toml"
    path.write_text("[auth]\n" + "".join(f'{key} = "{value}"\n' for key, value in auth.items()))
    return path


@pytest.fixture(scope="module")
def team_server(team_db_path, provider, tmp_path_factory):
    folder = tmp_path_factory.mktemp("team-server")
    database = folder / "opsg.duckdb"
    shutil.copy(team_db_path, database)
    port = free_port()
    with running_app(database, _secrets_file(folder, port, provider), port) as url:
        yield url


class Watched:
    """A page and every websocket frame the server sent it."""

    def __init__(self, page):
        self.page = page
        self.frames: list[bytes] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._received))

    def _received(self, payload):
        self.frames.append(payload if isinstance(payload, bytes) else payload.encode())

    def received(self, needle: bytes) -> bool:
        return any(needle in frame for frame in self.frames)


def signed_in(browser, url, provider, sub, **context):
    """A new browser context signed in as `sub` at the provider, on the Overview."""
    session = browser.new_context(viewport={"width": 1400, "height": 1000}, **context)
    watched = Watched(session.new_page())
    page = watched.page
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("button", name="Sign in").click(timeout=60_000)
    page.wait_for_url(f"{provider}/**", timeout=60_000)
    page.get_by_role("button", name=sub).click()
    page.wait_for_url(f"{url}/**", timeout=60_000)
    return session, watched


def test_an_anonymous_visitor_is_sent_to_sign_in(team_server, browser, tmp_path):
    page = browser.new_page()
    watched = Watched(page)
    page.goto(team_server, wait_until="domcontentloaded")
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "sign-in.png"))
    assert page.get_by_text("Sign in to see the figures").is_visible()
    assert not page.get_by_text("Latest PMR month").count()
    assert not watched.received(b"99.29") and not watched.received(struct.pack("<d", 99.29))
    page.close()


def test_a_viewer_cleared_white_never_sees_an_amber_figure(team_server, provider, browser, tmp_path):
    session, watched = signed_in(browser, team_server, provider, "viewer-sub", accept_downloads=True)
    page = watched.page
    page.get_by_text("Signed in as Val Viewer").wait_for(timeout=60_000)
    page.get_by_text("Measures by provider, December 2021").wait_for(timeout=60_000)
    page.locator("table.opsg-matrix").wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "viewer-overview.png"), full_page=True)
    assert not watched.received(AMBER_MARKS[0]) and not watched.received(AMBER_MARKS[1])

    page.goto(f"{team_server}/trends?measure=CPM1&provider=DCC&from=2021-01&to=2021-12", wait_until="domcontentloaded")
    page.locator(".vega-embed svg").first.wait_for(timeout=60_000)
    with page.expect_download(timeout=90_000) as download_info:
        page.get_by_role("button", name="Download SVG").first.click()
    svg = tmp_path / "chart.svg"
    download_info.value.save_as(svg)
    drawn = svg.read_text()
    assert "WHITE" in drawn and "Exported by" not in drawn  # WHITE content names nobody
    assert str(AMBER_VALUE) not in drawn and "AMBER" not in drawn

    page.goto(f"{team_server}/incidents?from=2021-12&to=2021-12", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Major incidents (Category 1–2)").wait_for(timeout=60_000)
    page.goto(f"{team_server}/data", wait_until="domcontentloaded")
    page.get_by_text("Loading files needs the secretariat or admin role").wait_for(timeout=60_000)
    assert page.locator("input[type=file]").count() == 0
    page.get_by_role("tab", name="Sources and ingest log").click()
    page.wait_for_timeout(1500)
    for mark in AMBER_MARKS:
        assert not watched.received(mark), mark
    assert watched.received(b"99.29")  # the WHITE figure was shown
    session.close()


def test_a_secretariat_member_cleared_amber_sees_it(team_server, provider, browser):
    session, watched = signed_in(browser, team_server, provider, "secretariat-sub")
    page = watched.page
    page.get_by_text("Signed in as Sam Secretariat").wait_for(timeout=60_000)
    page.get_by_text(f"{AMBER_VALUE}%").first.wait_for(timeout=60_000)
    page.goto(f"{team_server}/data", wait_until="domcontentloaded")
    page.locator("input[type=file]").wait_for(state="attached", timeout=60_000)
    session.close()


def test_someone_the_app_does_not_know_sees_no_access_yet(team_server, provider, browser, tmp_path):
    session, watched = signed_in(browser, team_server, provider, STRANGER)
    watched.page.get_by_text("No access yet: ask an administrator").wait_for(timeout=60_000)
    watched.page.screenshot(path=str(tmp_path / "no-access.png"))
    assert not watched.received(b"Latest PMR month")
    session.close()


def test_a_forged_cookie_is_signed_out_without_an_error(team_server, browser):
    session = browser.new_context()
    session.add_cookies(
        [{"name": "_streamlit_user", "value": "forged.eyJlbWFpbCI6ICJ2aWV3ZXIifQ.x", "url": team_server}]
    )
    page = session.new_page()
    page.goto(team_server, wait_until="domcontentloaded")
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    assert "Traceback" not in page.content()
    session.close()


def test_a_cookie_signed_with_another_secret_is_signed_out(team_server, team_db_path, provider, browser, tmp_path):
    session, watched = signed_in(browser, team_server, provider, "viewer-sub")
    watched.page.get_by_text("Signed in as Val Viewer").wait_for(timeout=60_000)
    cookies = session.cookies()
    database = tmp_path / "opsg.duckdb"
    shutil.copy(team_db_path, database)
    port = free_port()
    other = _secrets_file(tmp_path, port, provider, cookie_secret="another-secret-of-more-than-32-characters")
    with running_app(database, other, port) as url:
        again = browser.new_context()
        again.add_cookies([{**c, "domain": "127.0.0.1"} for c in cookies])  # cookies are not kept by port
        page = again.new_page()
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        assert "Traceback" not in page.content() and not page.get_by_text("Signed in as").count()
        again.close()
    session.close()
