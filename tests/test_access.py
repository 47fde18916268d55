"""Sign-in, roles and clearance in the app (AppTest with `at.user` for each role), the configuration's rules,
and the people and audit commands."""

from __future__ import annotations

import json
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from opsg_metrics.app import access, preflight
from opsg_metrics.store import people
from opsg_metrics.store.errors import OpsgError

from .conftest import AMBER_INCIDENT, AMBER_SOURCE, AMBER_VALUE, REPO, TEAM, cli_here, team_auth


@pytest.fixture
def team_copy(team_db_path, tmp_path):
    """A copy of the team database of this test's own (the app writes the audit log into it)."""
    path = tmp_path / "team.duckdb"
    shutil.copy(team_db_path, path)
    return path


@pytest.fixture
def team_app(team_copy, monkeypatch):
    """The app in team mode under AppTest, as the person signed in with `sub` (None: nobody)."""
    monkeypatch.setenv("OPSG_DB", str(team_copy))

    def open_(sub: str | None, page: str | None = None, user: dict | None = None, auth: dict | None = None):
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
        at.secrets = {"auth": auth or team_auth()}
        if user is not None:
            at.user = user
        elif sub is None:
            at.user = {"is_logged_in": False}
        else:
            email, name, _, _ = TEAM[sub]
            at.user = {"is_logged_in": True, "sub": sub, "email": email, "name": name}
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, at.exception
        return at

    return open_


def shown(at) -> str:
    """Everything the run put on the page as text: markdown, captions, alerts and every table's cells."""
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "subheader", "header")
        for e in getattr(at, kind)
    ]
    parts += [e.value for kind in ("markdown", "caption", "info", "warning") for e in getattr(at.sidebar, kind)]
    for table in at.dataframe:
        parts.append(table.value.to_csv())
    return "\n".join(str(p) for p in parts)


def _open(path):
    from opsg_metrics.store.connect import connect

    return connect(path)


def audit_of(path) -> list[tuple]:
    from opsg_metrics.store.connect import connect

    con = connect(path)  # as the app in this process holds it (DuckDB shares one instance a configuration)
    try:
        return con.execute("SELECT who, action, what FROM audit_log ORDER BY audit_id").fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- who sees what


def test_an_anonymous_visitor_is_asked_to_sign_in_and_sees_no_figure(team_app):
    at = team_app(None)
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.dataframe and not at.sidebar.markdown
    assert "Sign in to see the figures" in shown(at)


def cell(at, measure: str, provider: str):
    """The Overview's row for a series, from its table of the month (what the person is shown)."""
    table = at.dataframe[0].value
    return table[(table["Measure"] == measure) & (table["Provider"] == provider)].iloc[0]


def test_a_viewer_cleared_white_never_sees_the_amber_reissue(team_app):
    at = team_app("viewer-sub")
    text = shown(at)
    assert "Signed in as **Val Viewer** · viewer · cleared WHITE" in text
    cpm1 = cell(at, "CPM1", "DCC")
    assert cpm1["Value"] == 99.29
    assert f"{AMBER_VALUE}" not in text and "AMBER" not in text
    assert "revised" not in cpm1["Flags"]  # no hint of the reissue
    pages = {"trends": "Trends", "incidents": "Incidents", "summary": "PMR summary", "data": "Data"}
    for page, title in pages.items():
        at = team_app("viewer-sub", f"pages/{page}.py")
        assert at.title[0].value == title and (at.dataframe or page == "trends"), page  # the page itself ran
        text = shown(at)
        assert str(AMBER_VALUE) not in text and AMBER_SOURCE not in text and AMBER_INCIDENT not in text, page
    # ... and the owner of the database would see all three there.
    assert AMBER_SOURCE in shown(team_app("admin-sub", "pages/data.py"))
    assert AMBER_INCIDENT in shown(team_app("admin-sub", "pages/incidents.py"))


def test_a_secretariat_member_cleared_amber_sees_it(team_app):
    at = team_app("secretariat-sub")
    assert cell(at, "CPM1", "DCC")["Value"] == AMBER_VALUE
    assert "Classification: **AMBER**" in shown(at)
    assert AMBER_SOURCE in shown(team_app("secretariat-sub", "pages/data.py"))


def test_the_admin_page_is_for_administrators_only(team_app, team_copy):
    admin = team_app("admin-sub", "pages/admin.py")
    listing = admin.dataframe[0].value
    assert set(listing["email"]) == {email for email, *_ in TEAM.values()}
    # A viewer's menu has no Admin page, and the page itself refuses them when reached by its address.
    with pytest.raises(ValueError, match="Could not find a navigation page for '.*admin.py'"):
        team_app("viewer-sub", "pages/admin.py")
    direct = AppTest.from_file(str(REPO / "pages" / "admin.py"), default_timeout=90)
    direct.secrets = {"auth": team_auth()}
    direct.user = {"is_logged_in": True, "sub": "viewer-sub", "email": "viewer@example.org"}
    direct.run()
    assert not direct.exception and not direct.dataframe
    assert "Only an administrator" in direct.error[0].value
    assert ("viewer@example.org", "refused", "admin page") in audit_of(team_copy)


def test_an_admin_adds_a_person_and_is_told_of_a_mistake(team_app, team_copy):
    at = team_app("admin-sub", "pages/admin.py")
    at.text_input[0].input("new.member@example.org")
    at.text_input[1].input("New Member")
    at.button[0].click().run()  # Add person (the form's submit button)
    assert "new.member@example.org: viewer, cleared WHITE" in at.success[0].value.replace("\\", "")
    at.text_input[0].input("new.member@example.org")
    at.button[0].click().run()
    assert "already a person here" in at.error[0].value.replace("\\", "")
    assert len(people.listing(_open(team_copy))) == len(TEAM) + 1


def test_a_viewer_cannot_load_and_the_refusal_is_logged(team_app, team_copy):
    at = team_app("viewer-sub", "pages/data.py")
    assert not at.get("file_uploader")
    assert any("needs the secretariat or admin role" in i.value for i in at.info)
    assert ("viewer@example.org", "refused", "load files") in audit_of(team_copy)


def test_a_secretariat_member_may_load_up_to_their_clearance(team_app):
    at = team_app("secretariat-sub", "pages/data.py")
    assert at.get("file_uploader")
    marking = next(box for box in at.selectbox if box.label == "Classification")
    assert len(marking.options) == 4 and marking.options[-1] == "AMBER"  # white, white-no-publish, green, amber


def test_someone_signed_in_but_not_added_sees_no_access_yet(team_app, team_copy):
    at = team_app(None, user={"is_logged_in": True, "sub": "x", "email": "stranger@example.org"})
    assert "No access yet: ask an administrator" in at.warning[0].value
    assert [b.label for b in at.button] == ["Sign out"] and not at.dataframe
    assert ("stranger@example.org", "refused", "no access yet") in audit_of(team_copy)


def test_a_group_rule_gives_access(team_app):
    auth = team_auth()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    at.secrets = {
        "auth": auth,
        "opsg": {
            "access": {
                "claim": "groups",
                "groups": {
                    "opsg-members": {"role": "viewer", "clearance": "white"},
                    "opsg-secretariat": {"role": "secretariat", "clearance": "amber"},
                },
            }
        },
    }
    at.user = {
        "is_logged_in": True,
        "sub": "g",
        "email": "member@example.org",
        "name": "Grace Group",
        "groups": ["opsg-members", "staff"],
    }
    at.run()
    assert not at.exception
    assert "Signed in as **Grace Group** · viewer · cleared WHITE" in shown(at)


def test_a_person_signed_in_is_recorded_once_a_session(team_app, team_copy):
    at = team_app("viewer-sub")
    at.run()
    sign_ins = [row for row in audit_of(team_copy) if row[1] == "sign-in"]
    assert sign_ins == [("viewer@example.org", "sign-in", "viewer, cleared white")]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"cookie_secret": "too-short"}, "cookie_secret has 9 characters"),
        ({"cookie_secret": ""}, "cookie_secret is missing"),
        ({"client_id": ""}, "client_id is missing"),
    ],
)
def test_a_team_configuration_that_cannot_be_served_is_refused(team_app, change, message):
    at = team_app("viewer-sub", auth={**team_auth(), **change})
    assert "cannot serve" in at.error[0].value and message in at.error[0].value
    assert not at.dataframe


# ---------------------------------------------------------------- the rules, without Streamlit


def test_the_mode_follows_the_auth_section():
    assert access.mode_of({}) == "local"
    assert access.mode_of({"auth": team_auth()}) == "team"
    assert access.config_problems({}) == []
    assert access.config_problems({"auth": team_auth()}) == []
    placeholder = {"auth": {**team_auth(), "cookie_secret": "replace-with-48-random-characters-replace-with"}}
    assert "placeholder" in access.config_problems(placeholder)[0]
    bad_rule = {"auth": team_auth(), "opsg": {"access": {"groups": {"g": {"role": "owner", "clearance": "white"}}}}}
    assert "needs a role" in access.config_problems(bad_rule)[0]


@pytest.mark.parametrize(
    "redirect, good",
    [
        ("https://opsg.example.org/oauth2callback", True),
        ("http://127.0.0.1:8501/oauth2callback", True),
        ("https://example.org/opsg/oauth2callback", True),
        ("https://opsg.example.org/", False),
        ("opsg.example.org/oauth2callback", False),
        ("javascript:alert(1)//oauth2callback", False),
        ("https://opsg.example.org/oauth2callback?next=x", False),
    ],
)
def test_the_redirect_uri_must_end_in_the_callback(redirect, good):
    problems = access.config_problems({"auth": {**team_auth(), "redirect_uri": redirect}})
    assert (problems == []) is good
    if not good:
        assert "redirect_uri must be the app's address followed by /oauth2callback" in problems[0]


@pytest.mark.parametrize(
    "address, local", [(None, True), ("127.0.0.1", True), ("::1", True), ("10.1.2.3", False), ("2001:db8::1", False)]
)
def test_local_mode_serves_only_this_machine(address, local):
    found = access.resolve(None, {}, {}, address)
    assert (found.state == "local") is local
    if not local:
        assert found.person is None and "serves only the machine it runs on" in found.message


def test_preflight_stops_make_run_for_a_bad_team_configuration(tmp_path, capsys):
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text("[auth]\n" + "".join(f'{k} = "{v}"\n' for k, v in team_auth().items()))
    bad.write_text('[auth]\ncookie_secret = "short"\n')
    assert preflight.main([str(tmp_path / "absent.toml")]) == 0
    assert preflight.main([str(good)]) == 0
    assert preflight.main([str(bad)]) == 1
    err = capsys.readouterr().err
    assert "cookie_secret has 5 characters" in err and "redirect_uri is missing" in err
    (tmp_path / "broken.toml").write_text("[auth\n")
    assert preflight.main([str(tmp_path / "broken.toml")]) == 1


# ---------------------------------------------------------------- people and audit commands


@pytest.fixture
def people_db(tmp_path):
    path = tmp_path / "people.duckdb"
    cli_here("--db", path, "init", "--empty", check=0)
    cli_here("--db", path, "people", "add", "Boss@Example.org", "--role", "admin", "--clearance", "red", check=0)
    return path


def test_people_add_list_set_remove(people_db):
    cli_here(
        "--db",
        people_db,
        "people",
        "add",
        "jo@example.org",
        "--role",
        "viewer",
        "--clearance",
        "white",
        "--name",
        "Jo Bloggs",
        check=0,
    )
    listed = json.loads(cli_here("--db", people_db, "people", "list", "--json", check=0).stdout)
    assert [(p["email"], p["role"], p["clearance"]) for p in listed] == [
        ("boss@example.org", "admin", "red"),
        ("jo@example.org", "viewer", "white"),
    ]
    out = cli_here("--db", people_db, "people", "set", "jo@example.org", "--clearance", "amber", check=0).stdout
    assert "jo@example.org: viewer, cleared amber." in out
    cli_here("--db", people_db, "people", "remove", "jo@example.org", check=0)
    assert "jo@example.org" not in cli_here("--db", people_db, "people", "list", check=0).stdout
    log = json.loads(cli_here("--db", people_db, "audit", "--json", check=0).stdout)
    assert [entry["what"] for entry in log][:3] == [
        "removed jo@example.org",
        "set jo@example.org: viewer, cleared amber",
        "added jo@example.org as viewer cleared white",
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["add", "jo@example.org", "--role", "owner", "--clearance", "white"], "invalid choice: 'owner'"),
        (["add", "jo@example.org", "--role", "viewer", "--clearance", "secret"], "invalid choice: 'secret'"),
        (["add", "boss@example.org", "--role", "viewer", "--clearance", "white"], "already a person here"),
        (["add", "not an email", "--role", "viewer", "--clearance", "white"], "is not an email address"),
        (["remove", "boss@example.org"], "is the last administrator"),
        (["set", "boss@example.org", "--role", "viewer"], "is the last administrator"),
        (["set", "nobody@example.org", "--role", "viewer"], "is not a person here"),
        (["set", "boss@example.org"], "nothing to change"),
    ],
)
def test_people_mistakes_are_clear_errors_that_change_nothing(people_db, args, message):
    before = cli_here("--db", people_db, "people", "list", "--json", check=0).stdout
    result = cli_here("--db", people_db, "people", *args)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert cli_here("--db", people_db, "people", "list", "--json", check=0).stdout == before


def test_the_library_refuses_the_same_mistakes():
    from opsg_metrics.store.connect import connect

    con = connect(":memory:")
    people.add(con, "a@example.org", role="admin", clearance="red")
    with pytest.raises(OpsgError, match="unknown role 'king'"):
        people.add(con, "b@example.org", role="king", clearance="red")
    with pytest.raises(OpsgError, match="unknown clearance 'top'"):
        people.set_person(con, "a@example.org", clearance="top")
    people.add(con, "b@example.org", role="admin", clearance="white")
    people.remove(con, "a@example.org")  # another admin remains
    with pytest.raises(OpsgError, match="last administrator"):
        people.remove(con, "b@example.org")


def test_the_audit_log_is_filtered_by_day_and_hides_what_an_admin_is_not_cleared_for():
    from opsg_metrics.store.connect import connect

    con = connect(":memory:")
    people.record(con, "s@example.org", "export", "secret-pack.zip", classification="amber")
    people.record(con, "s@example.org", "export", "open-pack.zip", classification="white")
    con.execute("UPDATE audit_log SET logged_at = TIMESTAMP '2026-01-05 10:00' WHERE what = 'open-pack.zip'")
    from datetime import date

    assert list(people.audit(con)["what"]) == ["open-pack.zip", "secret-pack.zip"]
    assert list(people.audit(con, date(2026, 6, 1))["what"]) == ["secret-pack.zip"]
    assert list(people.audit(con, clearance="white")["what"]) == ["open-pack.zip", people.ABOVE_CLEARANCE]


def test_the_audit_command_filters_by_day(people_db):
    result = cli_here("--db", people_db, "audit", "--since", "2099-01-01", "--json", check=0)
    assert json.loads(result.stdout) == []
    wrong = cli_here("--db", people_db, "audit", "--since", "yesterday")
    assert wrong.returncode == 2 and "yesterday" in wrong.stderr and "Traceback" not in wrong.stderr
