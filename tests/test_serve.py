"""pages/serve.py: the server's launcher loads the app's libraries before the first visitor
and keeps what it loaded out of the post-run garbage collections."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG_PROBE = """
import json
from streamlit import config
config.get_config_options(force_reparse=True)
print(json.dumps({"gc": config.get_option("runner.postScriptGC")}))
"""
PROBE = """
import gc, json, sys
from pages import serve
names = serve.preload()
from streamlit import delta_generator
print(json.dumps({"frozen": gc.get_freeze_count(), "loaded": [n for n in names if n not in sys.modules],
                  "repl_checked": getattr(delta_generator, "_use_warning_has_been_displayed", True)}))
"""


def test_preload_imports_every_module_and_freezes_them():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    result = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []                  # every name it lists is imported
    assert result["repl_checked"] is True
    # the libraries' objects (pandas, plotly, statsmodels...: well over 100,000) are frozen,
    # so Streamlit's collection after each run does not walk them again
    assert result["frozen"] > 100_000


def test_the_app_leaves_garbage_collection_to_python_between_runs():
    """Streamlit's full collection after each run walked every result held in memory while
    the run's end waited; the project's config turns it off (Python's collector still runs)."""
    out = subprocess.run([sys.executable, "-c", CONFIG_PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    assert __import__("json").loads(out.stdout.strip().splitlines()[-1]) == {"gc": False}
