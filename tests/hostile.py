"""The hostile-link corpus: query strings a user may be sent (or type), each a dict of URL
parameters. Every injected link points at ``evil.example``, so a rendered page is safe when
no Markdown element holds the unescaped text ``evil.example`` and no anchor points there."""

from __future__ import annotations

EVIL = "evil.example"

_MARKUP = [
    "[Sign in](https://evil.example)",
    "[Sign in](https://evil.example \"title\")",
    "![img](https://evil.example/x.png)",
    "<a href='https://evil.example'>Sign in</a>",
    "<script>alert('evil.example')</script>",
    "<img src=x onerror=alert('evil.example')>",
    "https://evil.example/login",
    "www.evil.example",
    "mail@evil.example",
    "**bold** _it_ `code` evil.example",
    ":material/warning: :red[evil.example]",
    "$\\href{https://evil.example}{x}$",
    "[x]: https://evil.example",
    "<https://evil.example>",
    "# Heading evil.example",
    "- list evil.example",
    "> quote evil.example",
    "| a | b |\n|---|---|\n| evil.example | x |",
    "javascript:alert('evil.example')",
    "data:text/html,<a href=https://evil.example>x</a>",
]
_SQL = [
    "' OR 1=1 --",
    "'; DROP TABLE customers; --",
    "SMB' UNION SELECT password FROM users --",
    "\" OR \"\"=\"",
    "1; DELETE FROM orders",
    "%27%20OR%201%3D1",
]
_UNICODE = [
    "Ünïcødé 客户 عميل",
    "\u202eevil.example",
    "zero\u200bwidth",
    "emoji 🚀🔥",
    "\x00null",
    "line\nbreak [x](https://evil.example)",
    "tab\tseparated",
    "ａｂｃ fullwidth",
]
_DATES = [
    ["2026-09-30", "2026-06-01"],
    ["2026-06-01", "2026-07-01", "2026-09-30"],
    ["garbage"],
    ["0001-01-01", "9999-12-31"],
    ["2026-02-30", "2026-03-01"],
    ["2026-06-01", ""],
    ["", ""],
    ["1970-01-01", "1970-01-02"],
    ["2026-06-01T00:00:00", "2026-07-01"],
    ["[x](https://evil.example)", "2026-07-01"],
    ["2026-11-01", "2026-11-01"],
    ["99999-01-01", "2026-01-01"],
]

QUERIES: list[dict[str, list[str] | str]] = [
    *({"segment": [v]} for v in _MARKUP),
    *({"region": [v]} for v in _SQL),
    *({"industry": [v]} for v in _UNICODE),
    *({"period": v} for v in _DATES),
    {"compare": "[Sign in](https://evil.example)"},
    {"compare": "<b>evil.example</b>"},
    {"channel": ["[x](https://evil.example)", "web"]},
    {"owner_team": ["x" * 10_000]},
    {"segment": ["y" * 10_000 + "[x](https://evil.example)"]},
    {"acquisition_channel": ["[a](https://evil.example)"] * 50},
    {"segment": ["SMB", "[Sign in](https://evil.example)"], "period": ["2026-09-30", "2026-06-01"]},
    {"period": ["2026-06-01", "2026-09-30"], "compare": "Same period last year", "region": ["<i>evil.example</i>"]},
    {"unknown_parameter": ["[x](https://evil.example)"]},
    {"embed": ["true"], "embed_options": ["[x](https://evil.example)"]},
    {"owner_team": ["[Team](https://evil.example)"]},
    {"channel": ["<a href=https://evil.example>web</a>"]},
    {"industry": ["\\[escaped\\](https://evil.example)"]},
    {"region": ["%5BSign%20in%5D(https%3A%2F%2Fevil.example)"]},
    {"compare": "none", "period": ["2026-09-30", "2026-06-01", "[x](https://evil.example)"]},
]
