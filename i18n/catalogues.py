"""The message catalogues against the code: what the code asks to translate, what each
catalogue holds, and what is missing or left over (used by the tests and ``make i18n``).

Extraction follows babel.cfg: ``_("...")``, ``N_("...")``, ``ngettext("...", "...", n)``,
``lazy("...")`` and ``lazy_plural("...", "...", n)``.
in the application's Python files (tests, benchmarks and the virtualenv left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "lazy": None, "lazy_plural": (1, 2)}
SKIP_DIRS = {".venv", "tests", "bench", "__pycache__", ".git", "test-artifacts"}


def _wanted(dirname: str) -> bool:
    return not (set(Path(dirname).parts) & SKIP_DIRS)


def code_messages(root: Path = ROOT) -> set[str | tuple[str, str]]:
    """Every message id the code marks for translation (plurals as (singular, plural))."""
    found: set[str | tuple[str, str]] = set()
    method_map = [("**.py", "python")]
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(root), method_map, keywords=KEYWORDS, directory_filter=_wanted):
        if any(part in SKIP_DIRS for part in Path(filename).parts):
            continue
        found.add(tuple(message) if isinstance(message, (tuple, list)) else message)
    found.discard("")
    return found


@dataclass(frozen=True)
class Check:
    untranslated: list[str]  # in the code, not (or only fuzzily) translated in the catalogue
    unused: list[str]  # in the catalogue, used by no code


def check(language: str, root: Path = ROOT) -> Check:
    """Compare one language's catalogue with the code."""
    po = root / "i18n" / "locales" / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    wanted = code_messages(root)
    held = {}
    for message in catalog:
        if not message.id:
            continue
        key = tuple(message.id) if isinstance(message.id, (tuple, list)) else message.id
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        held[key] = bool(all(strings)) and not message.fuzzy
    untranslated = sorted(str(m) for m in wanted if not held.get(m))
    unused = sorted(str(m) for m in held if m not in wanted)
    return Check(untranslated, unused)
