"""Import problems in the reader's language: the Import page shown in Spanish and the import
command with ``--lang es`` or a Spanish ``LANG`` say what is wrong in Spanish, still naming
file, row and column (``FILE:ROW: COLUMN: ...``); English stays the default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

from data.imports.cli import out_of_memory_message
from data.imports.problems import Problem
from i18n import lazy, using
from tests import exports
from tests.conftest import ROOT
from tests.test_import_page import digest, uploads, workspace  # noqa: F401 — the workspace fixture

SPANISH = "orders.csv:2: amount: 'doce' no es un número"
ENGLISH = "orders.csv:2: amount: 'doce' is not a number"


def bad_folder(tmp_path: Path) -> Path:
    """The tiny CRM as CSV with one amount that is not a number (orders.csv, row 2)."""
    folder = exports.tiny_csv(tmp_path / "tiny")
    orders = folder / "orders.csv"
    lines = orders.read_text().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    first[header.index("amount")] = "doce"
    orders.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    return folder


def test_a_problem_reads_in_the_language_it_is_shown_in():
    problem = Problem("orders.csv", lazy("{value} is not {kind}", value="'doce'", kind=lazy("a number")), row=2,
                      column="amount")
    assert str(problem) == ENGLISH                        # English outside any language
    with using("es"):
        assert str(problem) == SPANISH
    assert problem.message == "'doce' is not a number"    # the value kept is English (logs, comparisons)
    with using("es"):
        assert "CRM_IMPORT_MEMORY_LIMIT=8GB" in out_of_memory_message()
        assert out_of_memory_message().startswith("error: la importación necesita más memoria")


def test_import_page_in_spanish_lists_spanish_problems(workspace, tmp_path):  # noqa: F811
    before = digest(workspace)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["lang"] = "es"
    at.run()
    # AppTest reads the widgets back in this thread, through their format_func (the page's _)
    with using("es"):
        at.switch_page("pages/import_data.py").run()
        assert not at.exception, [e.value for e in at.exception]
        at.file_uploader[0].set_value(uploads(bad_folder(tmp_path))).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = "\n".join(c.value for c in at.code)
    assert [t.value for t in at.title] == ["Importar datos"]
    assert SPANISH in shown, shown
    assert "is not a number" not in shown
    assert at.button(key="import_go").disabled
    assert digest(workspace) == before


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "LANG": "C.UTF-8"}
    return subprocess.run([sys.executable, "-m", "data", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**base, **(env or {})})


def test_import_command_in_spanish(tmp_path):
    folder = bad_folder(tmp_path)
    target = tmp_path / "ws.duckdb"
    english = _cli("import", "--into", str(target), str(folder))
    assert english.returncode == 2 and ENGLISH in english.stderr
    assert "1 problem found; nothing was imported." in english.stderr
    for done in (_cli("import", "--lang", "es", "--into", str(target), str(folder)),
                 _cli("import", "--into", str(target), str(folder), env={"LANG": "es_ES.UTF-8"})):
        assert done.returncode == 2, done.stderr
        assert SPANISH in done.stderr, done.stderr
        assert "1 problema encontrado; no se ha importado nada." in done.stderr
        assert "Traceback" not in done.stderr
    assert not target.exists()
    helped = _cli("import", "--help", "--lang", "es")
    assert helped.returncode == 0
    assert "revisar los archivos sin escribir nada" in helped.stdout
    commands = _cli("--help", env={"LANG": "es_ES.UTF-8"})
    assert "importar exportaciones del CRM" in commands.stdout and "listar las importaciones" in commands.stdout
