"""The documentation that README, code and messages point to ships with the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT_FILES = [p for pattern in ("*.md", "*.toml", "data/**/*.py", "metrics/**/*.py", "pages/**/*.py", "app.py")
              for p in ROOT.glob(pattern)]


def test_the_data_model_and_metrics_docs_are_in_the_repository():
    assert "## customers" in (ROOT / "docs" / "data-model.md").read_text()
    assert "What the dashboard measures" in (ROOT / "docs" / "metrics.md").read_text()


def test_nothing_points_outside_the_repository_for_the_spec():
    offenders = [str(p.relative_to(ROOT)) for p in TEXT_FILES if "shared/spec" in p.read_text()]
    assert offenders == []


def test_every_docs_path_mentioned_exists():
    mentioned = set()
    for path in TEXT_FILES:
        mentioned.update(re.findall(r"docs/[\w.-]+\.md", path.read_text()))
    assert mentioned, "README should point to the docs"
    assert [m for m in sorted(mentioned) if not (ROOT / m).exists()] == []
