"""Source health on the dirty-source corpus: each check counts exactly the rows broken, the
valid rows are every row but those, and every KPI computed on the dirty source equals the
same KPI on a copy whose broken rows were deleted by hand-written SQL."""

from __future__ import annotations

import math
from datetime import date

import pytest
from sqlalchemy import create_engine, func, select

from data import schema
from data.sources import SchemaMismatch, connect
from metrics import catalogue, health
from metrics.filters import Filters
from tests import dirty
from tests.conftest import END

FILTERS = Filters(start=date(2026, 6, 1), end=END, compare="previous")
USABLE = [v.name for v in dirty.VARIANTS if v.usable]
REPAIRABLE = [v.name for v in dirty.VARIANTS if v.repair]


@pytest.fixture(scope="module")
def corpus(demo_path, tmp_path_factory):
    """name -> (dirty path, repaired path or None), built on first use."""
    folder = tmp_path_factory.mktemp("dirty")
    built: dict[str, tuple] = {}

    def get(name: str):
        if name not in built:
            variant = dirty.BY_NAME[name]
            path = dirty.build(demo_path, variant, folder / f"{name}.duckdb")
            repaired = (dirty.build(demo_path, variant, folder / f"{name}.repaired.duckdb", repaired=True)
                        if variant.repair else None)
            built[name] = (path, repaired)
        return built[name]
    return get


def _engine(path):
    return create_engine(f"duckdb:///{path}", connect_args={"read_only": True})


def test_corpus_has_every_kind_of_breakage():
    kinds = {health.CHECKS_BY_KEY[f"{t}.{c}"].kind for v in dirty.VARIANTS for (t, c) in v.expected}
    assert kinds == set(health.KINDS)
    assert len(dirty.VARIANTS) >= 12


def test_clean_demo_passes_every_check(demo_url):
    engine = create_engine(demo_url, connect_args={"read_only": True})
    with engine.connect() as conn:
        report = health.health_report(conn, refresh=True)
    engine.dispose()
    assert report.clean, report.data_issues()
    assert report.data_issues() == []


@pytest.mark.parametrize("name", USABLE)
def test_checks_count_the_rows_broken(corpus, name):
    variant = dirty.BY_NAME[name]
    engine = _engine(corpus(name)[0])
    with engine.connect() as conn:
        report = health.health_report(conn)
        issues = {(i["table"], i["check"]): i["rows"] for i in report.data_issues()}
        assert issues == variant.expected
        for table in schema.TABLES:
            total = conn.execute(select(func.count()).select_from(table)).scalar()
            valid = conn.execute(select(func.count()).select_from(health.valid(table).subquery())).scalar()
            left_out = sum(n for (t, c), n in variant.expected.items()
                           if t == table.name and health.CHECKS_BY_KEY[f"{t}.{c}"].excluded)
            assert valid == total - left_out, table.name
            assert report.excluded_rows.get(table.name, 0) == left_out
    engine.dispose()


def _kpis(path) -> dict[str, float | None]:
    engine = _engine(path)
    with engine.connect() as conn:
        card = catalogue.evaluate(conn, FILTERS, catalogue.load_targets())
    engine.dispose()
    return {r.kpi.name: r.value for r in card.results} | {"overall": card.overall}


@pytest.mark.parametrize("name", REPAIRABLE)
def test_kpis_equal_a_recomputation_on_the_valid_rows(corpus, name):
    dirty_path, repaired_path = corpus(name)
    on_dirty, on_repaired = _kpis(dirty_path), _kpis(repaired_path)
    assert on_dirty.keys() == on_repaired.keys()
    for kpi, expected in on_repaired.items():
        got = on_dirty[kpi]
        if expected is None or (isinstance(expected, float) and math.isnan(expected)):
            assert got is None or math.isnan(got), kpi
        else:
            assert got == pytest.approx(expected, rel=1e-9, abs=1e-9), kpi


def test_resolved_before_opened_no_longer_changes_sla(corpus, demo_path):
    """The measured failure: reversed resolution times raised SLA compliance silently."""
    clean = _kpis(demo_path)
    dirty_kpis = _kpis(corpus("tickets_resolved_before_opened")[0])
    repaired = _kpis(corpus("tickets_resolved_before_opened")[1])
    assert dirty_kpis["sla_compliance"] == pytest.approx(repaired["sla_compliance"])
    assert clean["sla_compliance"] is not None


def test_wrong_types_are_one_clear_message(corpus):
    path, _ = corpus("orders_amount_as_text")
    with pytest.raises(SchemaMismatch) as raised:
        connect(f"duckdb:///{path}")
    assert "orders.amount text, expected numeric" in str(raised.value)


def test_empty_database_is_no_data_not_zero(corpus):
    kpis = _kpis(corpus("empty_database")[0])
    assert kpis["overall"] is None
    assert all(v is None for k, v in kpis.items() if k not in ("complaints_per_thousand",)), kpis


def test_sentences_name_count_rows_and_reason():
    finding = health.Finding("tickets", "resolved_at_before_opened_at", "timeline", "resolved before they were opened",
                             12, True)
    assert finding.sentence() == "12 tickets left out: resolved before they were opened"
    assert finding.as_dict() == {"table": "tickets", "check": "resolved_at_before_opened_at", "rows": 12,
                                 "excluded": True}


def test_every_check_has_a_declared_kind_and_reason():
    assert {c.kind for c in health.CHECKS} <= set(health.KINDS)
    assert all(c.reason and c.table in health.ROW_NOUNS for c in health.CHECKS)
    assert len({c.key for c in health.CHECKS}) == len(health.CHECKS)


def test_valid_clause_compiles_to_every_check_without_a_connection():
    text = str(health.valid(schema.tickets).compile(compile_kwargs={"literal_binds": False}))
    assert "resolved_at < tickets.opened_at" in text


def test_an_executed_statement_leaves_out_only_the_failing_checks(demo_url):
    """The placeholder is compiled at execution as the checks that failed on this source (none
    on the clean demo), and the same statement printed afterwards still shows every check."""
    from sqlalchemy import event, func, select

    engine = create_engine(demo_url, connect_args={"read_only": True})
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cur, statement, *a: sent.append(statement))
    statement = select(func.count()).select_from(schema.tickets).where(health.valid_clause(schema.tickets))
    with engine.connect() as conn:
        count = conn.execute(statement).scalar_one()
        total = conn.execute(select(func.count()).select_from(schema.tickets)).scalar_one()
    assert count == total > 0                          # nothing left out of a clean source
    executed = [s for s in sent if "count(*)" in s.lower() and "tickets" in s][0]
    assert "resolved_at <" not in executed             # no check written into the statement
    assert "resolved_at < tickets.opened_at" in str(statement.compile())


def test_the_report_is_read_once_and_only_for_a_statement_with_a_placeholder(demo_url, monkeypatch, tmp_path):
    """A statement is not searched for placeholders before it runs: the placeholder asks for
    the source's report while the statement is compiled (once for its cache key and its
    SQL together); a statement without one, or run on a database that is no source (the
    application store), never reads it."""
    from sqlalchemy import text

    asked = []
    real = health.health_report
    monkeypatch.setattr(health, "health_report", lambda conn, *a, **k: asked.append(1) or real(conn, *a, **k))
    engine = create_engine(demo_url, connect_args={"read_only": True})
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(schema.tickets)).scalar_one()
        assert asked == []
        valid = conn.execute(select(func.count()).select_from(schema.tickets)
                             .where(health.valid_clause(schema.tickets))).scalar_one()
        assert asked == [1] and valid == total
    store = create_engine(f"sqlite:///{tmp_path}/store.sqlite")
    with store.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    assert asked == [1]
