"""Every page in AppTest against sources that are not perfect and links that are hostile:
no exception, no failure message, "no data" instead of 0, and no injected link rendered.

Each variant of the dirty-source corpus (tests/dirty.py) is opened on its own, every page
visited in one session: no exception, and every page whose figures read the broken table
says how many rows it left out and why. A source carrying every breakage at once, the
empty database and the database with a text ``orders.amount`` are separate sources.
"""

from __future__ import annotations

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from data.build import build_demo
from data.demo import DemoSpec
from metrics import health
from tests import dirty, hostile
from tests.conftest import END, ROOT

PAGES = ["overview", "rules", "funnel", "service", "retention", "engagement", "segments", "value", "maturity",
         "data_source"]
#: The tables whose left-out rows each page states (its ``ui.caption_filters`` call; None = every table).
PAGE_TABLES: dict[str, tuple[str, ...] | None] = {
    "overview": None, "rules": None, "maturity": None, "funnel": ("customers", "orders", "opportunities"),
    "service": ("tickets", "customers"), "retention": ("customers", "orders"),
    "engagement": ("interactions", "campaigns", "customers", "orders"),
    "segments": ("customers", "orders", "opportunities", "tickets", "surveys", "interactions"),
    "value": ("customers", "orders"), "data_source": ("customers", "interactions"), "pipeline": ("customers", "opportunities"),
}
BROKEN_ALONE = [v.name for v in dirty.VARIANTS if v.usable and v.expected]
TEXT_ELEMENTS = ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader")


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("robust") / "small.duckdb"
    build_demo(path, DemoSpec(customers=400, seed=7, end=END))
    return path


@pytest.fixture(scope="module")
def sources(small_demo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("robust_sources")
    everything = folder / "every_breakage.duckdb"
    everything.write_bytes(small_demo.read_bytes())
    with duckdb.connect(str(everything)) as db:
        for variant in dirty.VARIANTS:
            if variant.usable and variant.expected:
                db.execute(variant.breaks)
    return {"every_breakage": everything,
            "empty_database": dirty.build(small_demo, dirty.BY_NAME["empty_database"], folder / "empty.duckdb"),
            "orders_amount_as_text": dirty.build(small_demo, dirty.BY_NAME["orders_amount_as_text"],
                                                 folder / "types.duckdb")}


def _texts(at: AppTest) -> list[str]:
    out = []
    for kind in TEXT_ELEMENTS:
        out += [str(e.value) for e in getattr(at, kind)]
    out += [f"{m.label} {m.value} {m.help or ''}" for m in at.metric]
    return out


def _visit(monkeypatch, url: str, app_store: str, query: dict | None = None, pages: list[str] = PAGES):
    """Open the app with ``query`` in the link, then every page; yields (page, AppTest) after each run."""
    monkeypatch.setenv("CRM_DB_URL", url)
    monkeypatch.setenv("CRM_APP_DB_URL", app_store)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    yield "overview", at
    for page in pages[1:]:
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.switch_page(f"pages/{page}.py").run()
        yield page, at


def test_every_page_on_a_source_with_every_breakage(monkeypatch, sources, tmp_path):
    url = f"duckdb:///{sources['every_breakage']}"
    for page, at in _visit(monkeypatch, url, f"sqlite:///{tmp_path}/app.sqlite"):
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        notes = [i.value for i in at.info if "Left out of these figures" in i.value]
        assert notes, page
        if page == "service":
            assert "tickets left out: resolved before they were opened" in notes[0]
        if page == "data_source":
            assert any("checks found problems" in w.value for w in at.warning)
            assert len(at.dataframe) >= 3  # the checks, the rows behind one, the tables


@pytest.mark.parametrize("name", BROKEN_ALONE)
def test_every_page_on_each_dirty_variant_states_what_it_left_out(monkeypatch, small_demo, tmp_path, name):
    """One session per variant over every page: no exception, no failure message, and the
    exclusion sentence ("12 tickets left out: resolved before they were opened") on each page
    whose figures read the broken table, with the rows the variant broke."""
    variant = dirty.BY_NAME[name]
    path = dirty.build(small_demo, variant, tmp_path / f"{name}.duckdb")
    findings = [health.CHECKS_BY_KEY[f"{t}.{c}"] for (t, c) in variant.expected]
    sentences = {check.table: health.Finding(check.table, check.name, check.kind, check.reason, rows,
                                             check.excluded).sentence()
                 for check, rows in zip(findings, variant.expected.values()) if check.excluded}
    assert sentences, name
    monkeypatch.setenv("CRM_WARM", "0")
    visited = []
    for page, at in _visit(monkeypatch, f"duckdb:///{path}", f"sqlite:///{tmp_path}/app.sqlite",
                           pages=[*PAGES, "pipeline"]):
        visited.append(page)
        assert not at.exception, (name, page, [e.value for e in at.exception])
        assert not at.error, (name, page, [e.value for e in at.error])
        notes = " ".join(i.value for i in at.info if "Left out of these figures" in i.value)
        for table, sentence in sentences.items():
            if PAGE_TABLES[page] is None or table in PAGE_TABLES[page]:
                assert sentence in notes, (name, page, sentence, notes)
            else:
                assert sentence not in notes, (name, page)
        if page == "data_source":
            assert any("1 of" in w.value and "checks found problems" in w.value for w in at.warning), name
    assert visited == [*PAGES, "pipeline"]


def test_every_page_on_an_empty_database_says_no_data(monkeypatch, sources, tmp_path):
    url = f"duckdb:///{sources['empty_database']}"
    for page, at in _visit(monkeypatch, url, f"sqlite:///{tmp_path}/app.sqlite"):
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        values = {m.label: m.value for m in at.metric}
        if page == "overview":
            assert values["Overall CRM score"] == "no data"
        assert not any(v in ("0 / 100", "0/100") for v in values.values()), (page, values)


def test_every_page_on_a_source_with_wrong_types_names_them(monkeypatch, sources, tmp_path):
    url = f"duckdb:///{sources['orders_amount_as_text']}"
    for page, at in _visit(monkeypatch, url, f"sqlite:///{tmp_path}/app.sqlite"):
        assert not at.exception, (page, [e.value for e in at.exception])
        assert any("orders.amount text, expected numeric" in e.value for e in at.error), page


def _groups(queries: list[dict]) -> list[dict]:
    """The queries merged into as few links as possible, no parameter given twice in a link
    (every query string still reaches every page, in fewer app sessions)."""
    groups: list[dict] = []
    for query in queries:
        home = next((g for g in groups if not set(g) & set(query)), None)
        if home is None:
            groups.append(dict(query))
        else:
            home.update(query)
    return groups


GROUPS = _groups(hostile.QUERIES)


@pytest.mark.parametrize("query", GROUPS, ids=[f"link{i}" for i in range(len(GROUPS))])
def test_hostile_links_on_every_page(monkeypatch, small_demo, tmp_path, query):
    for page, at in _visit(monkeypatch, f"duckdb:///{small_demo}", f"sqlite:///{tmp_path}/app.sqlite", query):
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        rendered = [t for t in _texts(at) if hostile.EVIL in t]
        assert not rendered, (page, [t[:200] for t in rendered])


def test_hostile_corpus_is_large_enough():
    assert len(hostile.QUERIES) >= 60
    assert sum(len(g) for g in GROUPS) == sum(len(q) for q in hostile.QUERIES)  # nothing lost in merging
    assert any(len(str(v)) >= 10_000 for q in hostile.QUERIES for v in q.values())
