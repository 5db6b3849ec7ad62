"""Row-level security in the metrics layer: the access definition, the scope in Filters, and
every figure, drill-down and model of two scoped users against an unscoped run filtered to
the same customers (demo database)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import select

from data.sources import connect
from data.schema import customers, opportunities
from metrics import catalogue, churn, clv, cohorts, drilldown, engagement, funnel, maturity, quality, rfm, sla, survival
from metrics.filters import Filters
from metrics.scope import AccessError, parse_access, restrict
from tests.conftest import ROOT

ACCESS = """
[users."ana@example.com"]
role = "manager"
region = ["North"]

[users."Sam@Example.com"]
role = "manager"
segment = ["SMB", "Enterprise"]
industry = ["Retail", "Finance"]

[users."luis@example.com"]
role = "executive"

[groups."sales-south"]
role = "manager"
region = ["South"]

[groups."leads"]
role = "crm_lead"
"""

F = Filters(start=date(2026, 5, 1), end=date(2026, 10, 31))


@pytest.fixture(scope="module")
def access():
    return parse_access(ACCESS)


@pytest.fixture(scope="module")
def conn(demo_url):
    source = connect(demo_url)  # read-only, like the app: the CLI below can open the file too
    with source.engine.connect() as connection:
        yield connection
    source.engine.dispose()


# ---- the access definition
def test_users_groups_and_precedence(access):
    ana = access.resolve("ANA@example.com", ["leads"])  # a user entry wins over groups
    assert (ana.role, ana.scope, ana.granted_by) == ("manager", (("region", ("North",)),), "user ana@example.com")
    sam = access.resolve("sam@example.com")
    assert sam.scope == (("industry", ("Retail", "Finance")), ("segment", ("SMB", "Enterprise")))
    assert access.resolve("luis@example.com").scope == ()  # no dimension = the whole company
    assert access.resolve("luis@example.com").can_write is False
    south = access.resolve("eve@example.com", ["other", "sales-south", "leads"])  # first group in file order
    assert (south.role, south.scope, south.granted_by) == ("manager", (("region", ("South",)),), "group sales-south")
    assert access.resolve("lead@example.com", ["leads"]).can_write
    assert access.resolve("nobody@example.com") is None
    assert access.resolve(None) is None


@pytest.mark.parametrize("text, message", [
    ('[users."a@x.com"]\nrole = "boss"', "role 'boss' is not one of executive, manager, crm_lead, admin"),
    ('[users."a@x.com"]\nrole = "manager"\ncity = ["Oslo"]', "unknown key 'city'"),
    ('[users."a@x.com"]\nrole = "manager"\nregion = []', "region is an empty list"),
    ('[users."a@x.com"]\nrole = "manager"\nregion = [1]', "region must be a list of values"),
    ('[users."ana"]\nrole = "manager"', "users.'ana' is not an e-mail address"),
    ('[people."a@x.com"]\nrole = "manager"', "unknown section(s) people"),
    ('[users."a@x.com"\nrole = "manager"', "not valid TOML"),
])
def test_invalid_definitions_name_the_entry(text, message):
    with pytest.raises(AccessError, match=None) as info:
        parse_access(text, "access.toml")
    assert message in str(info.value) and str(info.value).startswith("access.toml")


# ---- the scope inside Filters
def test_scope_intersects_and_cannot_be_widened():
    north = restrict(F, (("region", ("North",)),))
    assert north.allowed("region") == ("North",)
    wider = north.with_values(region=("North", "South"))  # a link asking for more
    assert wider.allowed("region") == ("North",)
    assert north.with_values(region="South").allowed("region") == ()  # outside the scope: nothing
    assert north.comparison().scope == north.scope  # the comparison period keeps it
    twice = restrict(north, (("region", ("North", "East")), ("segment", ("SMB",))))
    assert twice.scope == (("region", ("North",)), ("segment", ("SMB",)))
    assert "within your access, Region: North" in north.describe()
    with pytest.raises(ValueError, match="unknown customer dimension 'city'"):
        Filters(start=F.start, end=F.end, scope=(("city", ("Oslo",)),))


# ---- figures: scoped = unscoped filtered to the scope
def _as_selection(scope) -> dict:
    return {dim: values for dim, values in scope}


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("email", ["ana@example.com", "sam@example.com"])
def test_every_kpi_equals_the_unscoped_run_filtered_to_the_scope(conn, access, email):
    user = access.resolve(email)
    scoped = catalogue.evaluate(conn, user.apply(F), {})
    filtered = catalogue.evaluate(conn, F.with_values(**_as_selection(user.scope)), {})
    assert len(scoped.results) == len(catalogue.CATALOGUE)
    for mine, theirs in zip(scoped.results, filtered.results):
        assert _same(mine.value, theirs.value), (mine.kpi.name, mine.value, theirs.value)
        assert _same(mine.comparison, theirs.comparison), mine.kpi.name
        assert mine.status == theirs.status
    assert _same(scoped.overall, filtered.overall)
    whole = catalogue.evaluate(conn, F, {})
    # and the scope does restrict: the North manager's revenue is part of the company's
    revenue = {r.kpi.name: r.value for r in whole.results}
    assert any(not _same(r.value, revenue[r.kpi.name]) for r in scoped.results)


def _in_scope_ids(conn, user) -> set[str]:
    query = select(customers.c.customer_id).where(*restrict(F, user.scope).customer_clauses())
    return {cid for (cid,) in conn.execute(query)}


def _records(f: Filters) -> dict[str, object]:
    """Every drill-down of the app (pages/ui.py RECORDS) for the filters."""
    found = {f"kpi.{k.name}": drilldown.kpi_records(f, k.name) for k in catalogue.CATALOGUE if k.records}
    found.update({
        "sla.breaches": sla.breach_records(f), "sla.tickets": sla.ticket_records(f),
        "funnel.prospect": funnel.stage_records(f, "prospect"), "funnel.acquired": funnel.stage_records(f, "acquired"),
        "cohort": cohorts.cohort_records(f, datetime(2026, 1, 1), 3),
        "engagement.over": engagement.over_contacted(f), "engagement.violations": engagement.violation_records(f),
        "engagement.contacts": engagement.contact_records(f),
        "quality.duplicates": quality.duplicate_records(f), "quality.stale": quality.stale_records(f, 180),
        "survival.customers": survival.survival_records(f, True),
    })
    from metrics import pipeline

    found["pipeline.deals"] = pipeline.opportunity_records(f)
    found["pipeline.open"] = pipeline.open_deal_records(f)
    return found


@pytest.mark.parametrize("email", ["ana@example.com", "sam@example.com"])
def test_every_drill_down_and_csv_holds_only_rows_in_scope(conn, access, email):
    user = access.resolve(email)
    allowed = _in_scope_ids(conn, user)
    assert allowed
    non_empty = 0
    for name, query in _records(user.apply(F)).items():
        rows = drilldown.all_rows(conn, query)
        if "customer_id" not in rows and "opportunity_id" in rows:  # open deals name the customer, not its id
            owner = dict(conn.execute(select(opportunities.c.opportunity_id, opportunities.c.customer_id).where(
                opportunities.c.opportunity_id.in_(list(rows.opportunity_id)))).all())
            rows["customer_id"] = [owner[o] for o in rows.opportunity_id]
        assert "customer_id" in rows, name
        assert rows.customer_id.notna().all(), f"{name}: a row without a customer reached a scoped user"
        assert set(rows.customer_id.astype(str)) <= allowed, name
        for dim, values in user.scope:
            if dim in rows:
                assert set(rows[dim].dropna()) <= set(values), (name, dim)
        csv = rows.to_csv(index=False)
        assert csv.count("\n") == len(rows) + 1
        non_empty += len(rows) > 0
    assert non_empty >= 10  # the check is not vacuous


def test_a_link_outside_the_scope_shows_nothing(conn, access):
    ana = access.resolve("ana@example.com")
    south = ana.apply(F).with_values(region="South")  # ?region=South for a North manager
    card = catalogue.evaluate(conn, south, {})
    counted = {"new_customers", "active_customers_growth"}
    for r in card.results:
        assert r.value is None or r.value == 0 or r.kpi.name in counted and r.value in (0, None), (r.kpi.name, r.value)
    for name, query in _records(south).items():
        assert drilldown.all_rows(conn, query).empty, name
    assert engagement.campaign_roi(conn, south).empty


def test_models_cohorts_and_maturity_see_only_the_scope(conn, access):
    ana = access.resolve("ana@example.com")
    allowed = _in_scope_ids(conn, ana)
    f = ana.apply(F)
    _, values = clv.customer_values(conn, f, clv.ClvSettings(), F.end, "segment")
    assert set(values.customer_id) <= allowed and set(values.region) == {"North"}
    risk = churn.churn_risk(conn, f)
    assert set(risk.scores.customer_id) <= allowed
    assert set(rfm.rfm_table(conn, f).customer_id) <= allowed
    assert set(survival.survival_data(conn, f).customer_id) <= allowed
    scoped_cohorts = cohorts.cohort_matrix(conn, f)
    filtered_cohorts = cohorts.cohort_matrix(conn, F.with_values(region="North"))
    for key in scoped_cohorts:
        assert scoped_cohorts[key].equals(filtered_cohorts[key]), key
    mine = maturity.evidence(conn, f)
    theirs = maturity.evidence(conn, F.with_values(region="North"))
    assert [(c.name, c.value) for c in mine] == [(c.name, c.value) for c in theirs]


def test_campaigns_are_seen_only_through_their_target_segment(conn, access):
    sam = access.resolve("sam@example.com")  # segment and industry: campaigns cannot be attributed
    assert engagement.campaign_cost(conn, sam.apply(F)) == 0.0
    segment_only = restrict(F, (("segment", ("SMB",)),))
    roi = engagement.campaign_roi(conn, segment_only)
    assert not roi.empty and set(roi.target_segment) <= {"SMB"}


def test_cli_user_scope_equals_the_report_with_their_dimensions(demo_url, tmp_path):
    path = tmp_path / "access.toml"
    path.write_text(ACCESS)

    def report(*args):
        done = subprocess.run([sys.executable, "-m", "metrics", "report", "--db", demo_url, "--from", "2026-05-01",
                               "--to", "2026-10-31", "--format", "json", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    scoped = report("--user", "ana@example.com", "--access", str(path), "--region", "South", "--region", "North")
    filtered = report("--region", "North")
    assert scoped["scope"] == {"region": ["North"]}
    assert [k["value"] for k in scoped["kpis"]] == [k["value"] for k in filtered["kpis"]]
    unknown = subprocess.run([sys.executable, "-m", "metrics", "report", "--db", demo_url, "--user",
                              "nobody@example.com", "--access", str(path)], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
    assert unknown.returncode == 2 and "nobody@example.com has no access" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_the_example_access_file_is_valid():
    example = parse_access((ROOT / "access.example.toml").read_text(), "access.example.toml")
    assert example.resolve("ana@example.com").scope == (("region", ("North",)),)
    assert example.resolve("someone@example.com", ["sales-south"]).role == "manager"
