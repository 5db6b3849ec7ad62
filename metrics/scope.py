"""Who may see what: roles and row scopes from the access definition (``access.toml``).

The definition maps e-mail addresses (``[users."ana@example.com"]``) and, optionally, OIDC
groups (``[groups."sales-south"]``) to a role and a scope::

    [users."ana@example.com"]
    role = "manager"          # executive | manager | crm_lead | admin
    region = ["North"]        # any customer dimension; no dimension = the whole company

Rules, in order:

- A user entry (e-mail compared case-insensitively) wins over any group.
- Otherwise the first group in the file's order that the user belongs to applies.
- Otherwise the user has no access (the app shows "no access, ask your admin").

A scope lists, per customer dimension, the values the user may see; several dimensions
intersect (``region = ["North"]`` and ``segment = ["SMB"]`` = North SMB customers). The
scope is part of :class:`metrics.filters.Filters`: every query intersects it with what the
sidebar or a link asks for, so nothing can widen it, and an empty intersection means no
rows. Rows that cannot be attributed to a customer in scope are not shown at all to a
scoped user: interactions without a customer, and campaigns (a campaign is attributable
only through its target segment, so a scope on any other dimension sees no campaign,
its cost nor its ROI).

Roles: ``executive`` and ``manager`` read; ``crm_lead`` also changes targets, assessments,
the roadmap, risk answers, imports and alert rules; ``admin`` also edits the access
definition.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from data.store import ADMIN_ROLES, WRITER_ROLES
from i18n import N_, _
from metrics.filters import CUSTOMER_DIMENSIONS, DIMENSION_LABELS, Filters

ROLES: tuple[str, ...] = ("executive", "manager", "crm_lead", "admin")
ROLE_LABELS: dict[str, str] = {"executive": N_("Executive"), "manager": N_("Manager"), "crm_lead": N_("CRM lead"),
                               "admin": N_("Administrator")}
# WRITER_ROLES (targets, assessments, roadmap, risks, imports, alert rules) and ADMIN_ROLES
# (the access definition) live in data/store.py, which enforces them on every write.

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ACCESS_PATH = ROOT / "access.toml"

Scope = tuple[tuple[str, tuple[str, ...]], ...]  # ((dimension, allowed values), ...), sorted by dimension


class AccessError(ValueError):
    """The access definition is not valid; the message names the file, the entry and the key."""


@dataclass(frozen=True)
class Grant:
    """What one entry of the access definition grants."""

    role: str
    scope: Scope = ()


@dataclass(frozen=True)
class Access:
    """A resolved user: who, their role, their scope, and which entry granted it."""

    email: str
    role: str
    scope: Scope = ()
    granted_by: str = ""  # 'user ana@example.com' or 'group sales-south'

    @property
    def can_write(self) -> bool:
        return self.role in WRITER_ROLES

    @property
    def can_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    def apply(self, filters: Filters) -> Filters:
        """The filters restricted to this user's scope (see :func:`restrict`)."""
        return restrict(filters, self.scope)

    def describe_scope(self) -> str:
        return describe_scope(self.scope)


#: The local single-user mode (no sign-in configured): everything, as before sign-in existed.
LOCAL = Access(email="local", role="admin", scope=(), granted_by="local single-user mode")


@dataclass(frozen=True)
class AccessDefinition:
    """Every user and group entry of an access definition."""

    users: Mapping[str, Grant]
    groups: Mapping[str, Grant]  # in the file's order

    def resolve(self, email: str | None, groups: Iterable[str] = ()) -> Access | None:
        """The access of ``email`` (member of ``groups``), or None when nothing grants it."""
        key = (email or "").strip().lower()
        if key and key in self.users:
            grant = self.users[key]
            return Access(key, grant.role, grant.scope, f"user {key}")
        member = set(groups or ())
        for name, grant in self.groups.items():
            if name in member:
                return Access(key, grant.role, grant.scope, f"group {name}")
        return None


def _grant(entry: object, where: str) -> Grant:
    if not isinstance(entry, dict):
        raise AccessError(f"{where}: expected a table with role = ... and dimension lists")
    role = entry.get("role")
    if role not in ROLES:
        raise AccessError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
    scope: list[tuple[str, tuple[str, ...]]] = []
    for key, values in entry.items():
        if key == "role":
            continue
        if key not in CUSTOMER_DIMENSIONS:
            raise AccessError(f"{where}: unknown key {key!r}; use role or a customer dimension: "
                              f"{', '.join(CUSTOMER_DIMENSIONS)}")
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            raise AccessError(f"{where}: {key} must be a list of values, e.g. {key} = [\"North\"]")
        if not values:
            raise AccessError(f"{where}: {key} is an empty list, which would grant nothing; "
                              "remove the user instead, or leave the key out for every value")
        scope.append((key, tuple(dict.fromkeys(v.strip() for v in values))))
    return Grant(role=role, scope=tuple(sorted(scope)))


def parse_access(text: str, origin: str = "access.toml") -> AccessDefinition:
    """Parse and validate an access definition; :class:`AccessError` names what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AccessError(f"{origin}: not valid TOML: {exc}") from None
    unknown = set(data) - {"users", "groups"}
    if unknown:
        raise AccessError(f"{origin}: unknown section(s) {', '.join(sorted(unknown))}; use [users.\"e-mail\"] "
                          "and [groups.\"name\"]")
    users: dict[str, Grant] = {}
    for email, entry in (data.get("users") or {}).items():
        key = email.strip().lower()
        if "@" not in key:
            raise AccessError(f"{origin}: users.{email!r} is not an e-mail address")
        if key in users:
            raise AccessError(f"{origin}: users.{email!r} appears twice (e-mails are compared case-insensitively)")
        users[key] = _grant(entry, f"{origin}: users.{email!r}")
    groups = {name: _grant(entry, f"{origin}: groups.{name!r}") for name, entry in (data.get("groups") or {}).items()}
    return AccessDefinition(users=users, groups=groups)


def access_path(environ: Mapping[str, str] | None = None) -> Path:
    """``CRM_ACCESS_FILE``, or ``access.toml`` next to the app."""
    environ = os.environ if environ is None else environ
    value = environ.get("CRM_ACCESS_FILE")
    return Path(value) if value else DEFAULT_ACCESS_PATH


def read_access_file(path: Path | None = None) -> AccessDefinition:
    """The definition in ``path`` (default :func:`access_path`); a missing file grants nobody."""
    path = path or access_path()
    if not path.exists():
        return AccessDefinition(users={}, groups={})
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AccessError(f"{path}: cannot be read: {exc}") from None
    return parse_access(text, str(path))


def load_access(path: Path | None = None, stored_text: str | None = None) -> AccessDefinition:
    """The access definition in force: ``path`` when given explicitly, else the version an
    admin saved in the application store (``stored_text``), else the access file."""
    if path is not None:
        return read_access_file(path)
    if stored_text is not None:
        return parse_access(stored_text, "access definition saved in the app")
    return read_access_file()


def user_access(email: str, path: Path | None = None, store_url: str | None = None) -> Access:
    """The access of ``email`` for command-line tools: ``path`` when given, else the
    definition saved in the application store, else the access file.

    Raises :class:`AccessError` when nothing grants the user access.
    """
    stored = None
    if path is None:
        from data.store import AppStore

        store = AppStore(store_url)
        try:
            saved = store.access_definition()
        finally:
            store.dispose()
        stored = saved["definition"] if saved else None
    definition = load_access(path, stored)
    access = definition.resolve(email)
    if access is None:
        where = str(path) if path is not None else ("the access definition saved in the app" if stored is not None
                                                     else str(access_path()))
        raise AccessError(f"{email} has no access in {where}; ask your admin to add them")
    return access


def restrict(filters: Filters, scope: Scope) -> Filters:
    """``filters`` with ``scope`` added to the scope they already carry (never widened)."""
    if not scope:
        return filters
    return filters.within(scope)


def describe_scope(scope: Scope) -> str:
    """The scope in words: 'the whole company' or 'Region: North; Segment: SMB'."""
    if not scope:
        return _("the whole company")
    return "; ".join(_("{dimension}: {values}").format(dimension=_(DIMENSION_LABELS[dim]), values=", ".join(values))
                     for dim, values in scope)
