"""Sign-in, roles and scopes in the app (AppTest with a simulated signed-in user): who gets
in, the menu each role gets, every page of two scoped users holds only their rows and the
same tile values as an unscoped run filtered to their scope, links cannot widen a scope,
and executives and managers cannot change anything."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data.imports import run_import
from data.store import AppStore, Forbidden
from tests.conftest import ROOT

ACCESS = """
[users."ana@example.com"]
role = "manager"
region = ["North"]

[users."sam@example.com"]
role = "manager"
segment = ["SMB", "Enterprise"]
industry = ["Retail", "Finance"]

[users."luis@example.com"]
role = "executive"

[users."lead@example.com"]
role = "crm_lead"

[users."root@example.com"]
role = "admin"
"""
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test", "client_id": "dashboard",
        "client_secret": "secret", "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"}
SCOPES = {"ana@example.com": {"region": ["North"]},
          "sam@example.com": {"segment": ["SMB", "Enterprise"], "industry": ["Retail", "Finance"]}}
READ_PAGES = ["overview", "rules", "funnel", "service", "retention", "engagement", "segments", "value", "pipeline",
              "data_source"]
PERIOD = ["2026-05-01", "2026-10-31"]


@pytest.fixture
def env(monkeypatch, demo_url, tmp_path):
    path = tmp_path / "access.toml"
    path.write_text(ACCESS)
    monkeypatch.setenv("CRM_DB_URL", demo_url)
    monkeypatch.setenv("CRM_APP_DB_URL", f"sqlite:///{tmp_path}/app.sqlite")
    monkeypatch.setenv("CRM_ACCESS_FILE", str(path))
    return tmp_path


def run_as(email: str | None, page: str = "overview", query: dict | None = None, signed_in: bool = True) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": signed_in, **({"email": email, "name": email.split("@")[0].title()} if email else {})}
    at.query_params["period"] = PERIOD
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{page}.py").run()
    return at


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _frames(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe if isinstance(d.value, pd.DataFrame)]


def _tiles(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_signed_out_sees_only_the_sign_in_page(env):
    at = run_as(None, signed_in=False)
    _ok(at)
    assert [t.value for t in at.title] == ["CRM analytics"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.dataframe


def test_unknown_user_gets_no_access(env):
    at = run_as("stranger@example.com")
    _ok(at)
    assert [t.value for t in at.title] == ["No access"]
    assert "ask your admin" in at.warning[0].value.lower()
    assert not at.metric and [b.label for b in at.button] == ["Log out"]


def test_local_mode_without_auth_is_unchanged_and_says_so(env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.user = {"is_logged_in": False}
    at.run()
    _ok(at)
    assert [t.value for t in at.title] == ["Overview"]
    assert any("Local single-user mode" in i.value for i in at.sidebar.info)


@pytest.mark.parametrize("email", list(SCOPES))
def test_every_page_holds_only_rows_in_scope(env, email):
    for page in READ_PAGES:
        at = run_as(email, page)
        _ok(at)
        assert not [e.value for e in at.error], page
        for frame in _frames(at):
            for dim, allowed in SCOPES[email].items():
                if dim in frame:
                    assert set(frame[dim].dropna()) <= set(allowed), (page, dim)
        if page == "overview":
            assert "within your access" in at.caption[0].value


@pytest.mark.parametrize("email", list(SCOPES))
def test_tiles_equal_an_unscoped_run_filtered_to_the_scope(env, email):
    scoped = run_as(email)
    _ok(scoped)
    filtered = run_as("root@example.com", query=SCOPES[email])  # the admin sees everything: filter by hand
    _ok(filtered)
    assert _tiles(scoped) and _tiles(scoped) == _tiles(filtered)
    whole = run_as("root@example.com")
    assert _tiles(whole) != _tiles(scoped)


def test_a_link_cannot_widen_a_scope(env):
    nothing = run_as("ana@example.com", query={"region": ["South"]})  # a North manager opens ?region=South
    _ok(nothing)
    assert nothing.multiselect(key="region").options == ["North"]
    assert any("outside your access" in w.value for w in nothing.sidebar.warning)
    mine = run_as("ana@example.com")
    assert _tiles(nothing) == _tiles(mine)  # the link was ignored: still North only, never South
    for page in ("service", "engagement", "value"):
        at = run_as("ana@example.com", page, {"region": ["South", "North"]})
        _ok(at)
        for frame in _frames(at):
            if "region" in frame:
                assert "South" not in set(frame.region), page


@pytest.mark.parametrize("email", ["luis@example.com", "ana@example.com"])
def test_executives_and_managers_cannot_write(env, email):
    at = run_as(email)
    _ok(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in their menu: unreachable
        at.switch_page("pages/maturity.py").run()
    for page in ("alerts", "access_admin", "import_data"):  # nor alert rules, access, imports
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"pages/{page}.py").run()
    assert not at.get("form_submit_button") and "Save target" not in [b.label for b in at.button]
    store = AppStore()
    role = "executive" if email.startswith("luis") else "manager"
    for write in (lambda: store.set_target("nps", 50, who=email, role=role),
                  lambda: store.add_item("Vision", "Sneaky", who=email, role=role),
                  lambda: store.set_risk_answer("no_strategy", "yes", who=email, role=role),
                  lambda: store.save_assessment({"s1": 3}, who=email, role=role),
                  lambda: store.add_alert_rule("nps", "below", 10, who=email, role=role),
                  lambda: store.save_access('[users."x@y.z"]\nrole = "admin"', who=email, role=role),
                  lambda: run_import([], "crm", f"duckdb:///{env}/mine.duckdb", who=email, role=role)):
        with pytest.raises(Forbidden):
            write()
    assert store.target_overrides() == {} and store.items().empty and store.alert_rules().empty
    store.dispose()


def test_crm_lead_writes_and_admin_edits_access(env):
    lead = run_as("lead@example.com", "maturity")
    _ok(lead)
    assert [t.value for t in lead.title] == ["CRM maturity"]
    lead.switch_page("pages/import_data.py").run()  # the CRM lead imports
    _ok(lead)
    assert [t.value for t in lead.title] == ["Import data"]
    lead.switch_page("pages/maturity.py").run()
    assert any(b.label == "Save target" for b in lead.get("form_submit_button"))
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        lead.switch_page("pages/access_admin.py").run()
    alerts = run_as("lead@example.com", "alerts")
    alerts.selectbox(key="alert_kind").set_value("below")
    alerts.number_input(key="alert_threshold").set_value(40.0)
    alerts.get("form_submit_button")[0].click().run()
    _ok(alerts)
    # a percentage is entered as the pages show it: 90 for 90 %, kept as the fraction 0.9
    alerts.selectbox(key="alert_kpi").set_value("sla_compliance").run()
    assert alerts.number_input(key="alert_threshold").label == "Threshold (%)"
    alerts.number_input(key="alert_threshold").set_value(90.0)
    alerts.get("form_submit_button")[0].click().run()
    _ok(alerts)
    store = AppStore()
    rules = store.alert_rules()
    assert list(rules.updated_by) == ["lead@example.com"] * 2 and list(rules.kind) == ["below"] * 2
    assert dict(zip(rules.kpi, rules.threshold)) == {"nps": 40.0, "sla_compliance": pytest.approx(0.9)}
    assert sorted(alerts.dataframe[0].value["Threshold"]) == ["40.0", "90.0 %"]     # and shown so
    with pytest.raises(Forbidden):
        store.save_access('[users."lead@example.com"]\nrole = "admin"', who="lead@example.com", role="crm_lead")

    admin = run_as("root@example.com", "access_admin")
    _ok(admin)
    admin.text_area(key="access_text").set_value(ACCESS + '\n[users."new@example.com"]\nrole = "executive"\n')
    admin.get("form_submit_button")[0].click().run()
    _ok(admin)
    saved = store.access_definition()
    assert saved["saved_by"] == "root@example.com" and "new@example.com" in saved["definition"]
    newcomer = run_as("new@example.com")
    assert [t.value for t in newcomer.title] == ["Overview"]
    store.dispose()
