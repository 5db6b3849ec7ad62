"""Every CLI argument is checked before anything is computed: one clear line, exit 2, no
traceback; an empty database is "no data" (exit 3), never a score of 0; rows breaking the
data model are listed in every format."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from tests import dirty
from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "metrics", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


BAD_ARGUMENTS = [
    (("report", "--from", "0001-01-01"), "outside 2000-01-01 to 2100-12-31"),
    (("report", "--from", "9999-12-01"), "outside 2000-01-01 to 2100-12-31"),
    (("report", "--to", "2026-13-01"), "not a date"),
    (("report", "--from", "2026-02-01", "--to", "2026-01-01"), "before it starts"),
    (("report", "--segment", "NoSuchSegment"), "unknown segment 'NoSuchSegment': valid values are Consumer, Enterprise, SMB"),
    (("report", "--channel", "pigeon"), "unknown channel 'pigeon': valid values are"),
    (("report", "--compare", "yesterday"), "invalid choice"),
    (("value", "--by", "bogus"), "unknown dimension 'bogus'"),
    (("value", "--horizon-months", "-5"), "between 1 and 120 months"),
    (("value", "--horizon-months", "twelve"), "not a whole number"),
    (("value", "--calibration-end", "9999-12-01"), "outside 2000-01-01 to 2100-12-31"),
    (("value", "--segment", "[Sign in](https://evil.example)"), "unknown segment"),
]


@pytest.mark.parametrize("args,message", BAD_ARGUMENTS, ids=[" ".join(a) for a, _ in BAD_ARGUMENTS])
def test_bad_arguments_are_one_clear_line(demo_url, args, message):
    done = run(args[0], "--db", demo_url, *args[1:])
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def variant_url(demo_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_dirty")

    def make(name: str) -> str:
        path = folder / f"{name}.duckdb"
        if not path.exists():
            dirty.build(demo_path, dirty.BY_NAME[name], path)
        return f"duckdb:///{path}"
    return make


def test_empty_database_is_no_data(variant_url):
    url = variant_url("empty_database")
    for fmt in ("markdown", "json", "csv"):
        done = run("report", "--db", url, "--to", "2026-10-31", "--format", fmt)
        assert done.returncode == 3, done.stderr
        assert "Traceback" not in done.stderr and "no data" in done.stderr
    markdown = run("report", "--db", url, "--to", "2026-10-31").stdout
    assert "Overall score: **no data**" in markdown and "0/100" not in markdown
    assert json.loads(run("report", "--db", url, "--to", "2026-10-31", "--format", "json").stdout)["overall_score"] is None
    value = run("value", "--db", url, "--calibration-end", "2026-10-31")
    assert value.returncode == 2 and "Traceback" not in value.stderr and value.stderr.startswith("error: ")


@pytest.mark.parametrize("name", [v.name for v in dirty.VARIANTS])
def test_every_dirty_variant_is_answered_without_a_traceback(variant_url, name):
    variant = dirty.BY_NAME[name]
    done = run("report", "--db", variant_url(name), "--from", "2026-06-01", "--to", "2026-11-22", "--format", "json")
    assert "Traceback" not in done.stderr
    if not variant.usable:
        assert done.returncode == 2 and "orders.amount text, expected numeric" in done.stderr
        return
    assert done.returncode in (0, 3), done.stderr
    issues = {(i["table"], i["check"]): i["rows"] for i in json.loads(done.stdout)["data_issues"]}
    assert issues == variant.expected
    assert all(i["excluded"] in (True, False) for i in json.loads(done.stdout)["data_issues"])


def test_text_formats_print_the_data_issues(variant_url):
    url = variant_url("tickets_resolved_before_opened")
    markdown = run("report", "--db", url, "--to", "2026-10-31")
    assert "## Data issues" in markdown.stdout
    assert "- 12 tickets left out: resolved before they were opened" in markdown.stdout
    as_csv = run("report", "--db", url, "--to", "2026-10-31", "--format", "csv")
    assert "note: 12 tickets left out: resolved before they were opened" in as_csv.stderr
    assert len(list(csv.DictReader(io.StringIO(as_csv.stdout)))) > 10



def test_value_command_on_a_dirty_source(variant_url):
    done = run("value", "--db", variant_url("orders_duplicated"), "--calibration-end", "2026-10-31", "--by", "none")
    assert "Traceback" not in done.stderr
    assert done.returncode == 0, done.stderr
