"""The dirty-source corpus: variants of the demo database, each breaking one invariant by SQL.

Every variant is a copy of the demo DuckDB file changed by ``breaks`` (SQL run on the copy),
with the rows each check must find (``expected``: (table, check) -> rows) and ``repair``:
hand-written SQL that deletes the broken rows from another copy, so that the figures
computed on the dirty copy can be compared with the same figures on physically clean data.
A table whose rows are to be duplicated or left empty is first recreated without its
constraints (``CREATE TABLE ... AS`` copies no key and no NOT NULL).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb


def _unconstrained(table: str) -> str:
    return (f"CREATE TABLE {table}_copy AS SELECT * FROM {table}; DROP TABLE {table}; "
            f"ALTER TABLE {table}_copy RENAME TO {table};")


def _first(table: str, key: str, n: int, where: str = "TRUE") -> str:
    return f"{key} IN (SELECT {key} FROM {table} WHERE {where} ORDER BY {key} LIMIT {n})"


@dataclass(frozen=True)
class Variant:
    name: str
    breaks: str
    expected: dict[tuple[str, str], int] = field(default_factory=dict)
    repair: str | None = None  # SQL that deletes the broken rows (None: no figure comparison)
    usable: bool = True  # False: the source is refused with a message (wrong types)


VARIANTS: tuple[Variant, ...] = (
    Variant("tickets_resolved_before_opened",
            "UPDATE tickets SET resolved_at = opened_at - INTERVAL 2 HOUR WHERE "
            + _first("tickets", "ticket_id", 12, "resolved_at IS NOT NULL"),
            {("tickets", "resolved_at_before_opened_at"): 12},
            "DELETE FROM tickets WHERE resolved_at < opened_at"),
    Variant("tickets_answered_before_opened",
            "UPDATE tickets SET first_response_at = opened_at - INTERVAL 1 DAY WHERE "
            + _first("tickets", "ticket_id", 7, "first_response_at IS NOT NULL"),
            {("tickets", "first_response_at_before_opened_at"): 7},
            "DELETE FROM tickets WHERE first_response_at < opened_at"),
    Variant("opportunities_closed_before_created",
            "UPDATE opportunities SET closed_at = created_at - INTERVAL 30 DAY WHERE "
            + _first("opportunities", "opportunity_id", 9, "closed_at IS NOT NULL"),
            {("opportunities", "closed_at_before_created_at"): 9},
            "DELETE FROM opportunities WHERE closed_at < created_at"),
    Variant("customers_acquired_before_created",
            "UPDATE customers SET acquired_at = created_at - INTERVAL 10 DAY WHERE "
            + _first("customers", "customer_id", 6, "acquired_at IS NOT NULL"),
            {("customers", "acquired_at_before_created_at"): 6}),
    Variant("orders_duplicated",
            _unconstrained("orders") + " INSERT INTO orders SELECT * FROM orders WHERE "
            + _first("orders", "order_id", 25, "amount > 0"),
            {("orders", "duplicate_id"): 50},
            "DELETE FROM orders WHERE order_id IN (SELECT order_id FROM orders GROUP BY 1 HAVING count(*) > 1)"),
    Variant("orders_unknown_customer",
            _unconstrained("orders") + " UPDATE orders SET customer_id = 'NO-SUCH-' || order_id WHERE "
            + _first("orders", "order_id", 11),
            {("orders", "customer_id_unknown"): 11},
            "DELETE FROM orders WHERE customer_id LIKE 'NO-SUCH-%'"),
    Variant("orders_amount_missing",
            _unconstrained("orders") + " UPDATE orders SET amount = NULL WHERE " + _first("orders", "order_id", 8),
            {("orders", "amount_missing"): 8},
            "DELETE FROM orders WHERE amount IS NULL"),
    Variant("orders_in_the_future",
            "UPDATE orders SET ordered_at = ordered_at + INTERVAL 5 YEAR WHERE " + _first("orders", "order_id", 14),
            {("orders", "ordered_at_future"): 14},
            "DELETE FROM orders WHERE ordered_at > now()"),
    Variant("tickets_in_the_future",
            "UPDATE tickets SET opened_at = opened_at + INTERVAL 4 YEAR, first_response_at = NULL, "
            "resolved_at = NULL WHERE " + _first("tickets", "ticket_id", 5),
            {("tickets", "opened_at_future"): 5},
            "DELETE FROM tickets WHERE opened_at > now()"),
    Variant("campaign_costs_negative",
            "UPDATE campaigns SET cost = -cost - 1 WHERE " + _first("campaigns", "campaign_id", 4),
            {("campaigns", "cost_negative"): 4},
            _unconstrained("interactions") + " DELETE FROM campaigns WHERE cost < 0"),
    Variant("survey_scores_out_of_scale",
            "UPDATE surveys SET score = 42 WHERE " + _first("surveys", "response_id", 6),
            {("surveys", "score_out_of_scale"): 6},
            "DELETE FROM surveys WHERE score = 42"),
    Variant("ticket_csat_out_of_scale",
            "UPDATE tickets SET csat = 9 WHERE " + _first("tickets", "ticket_id", 3, "csat IS NOT NULL"),
            {("tickets", "csat_out_of_scale"): 3},
            "DELETE FROM tickets WHERE csat = 9"),
    Variant("tickets_category_missing",
            _unconstrained("tickets") + " UPDATE tickets SET category = NULL WHERE " + _first("tickets", "ticket_id", 4),
            {("tickets", "category_missing"): 4},
            "DELETE FROM tickets WHERE category IS NULL"),
    Variant("orders_amount_as_text",
            "ALTER TABLE orders ALTER amount TYPE VARCHAR", usable=False),
    Variant("empty_database",
            "DELETE FROM survey_invitations; DELETE FROM surveys; DELETE FROM tickets; DELETE FROM interactions; "
            "DELETE FROM opportunities; DELETE FROM orders; DELETE FROM campaigns; DELETE FROM customers;"),
)
VARIANT_NAMES = [v.name for v in VARIANTS]
BY_NAME = {v.name: v for v in VARIANTS}


def build(demo_path: Path, variant: Variant, out: Path, repaired: bool = False) -> Path:
    """A copy of the demo at ``out`` with the variant's breakage (and its repair when asked)."""
    shutil.copyfile(demo_path, out)
    with duckdb.connect(str(out)) as db:
        db.execute(variant.breaks)
        if repaired and variant.repair:
            db.execute(variant.repair)
    return out
