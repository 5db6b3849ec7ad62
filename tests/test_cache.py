"""data/cache.py: the folder for derived data and the source fingerprint."""

from data.cache import cache_dir, fingerprint_of


def test_cache_dir_follows_the_setting(tmp_path):
    folder = cache_dir({"CRM_CACHE_DIR": str(tmp_path / "derived")})
    assert folder == tmp_path / "derived" and folder.is_dir()


def test_fingerprint_changes_with_rows_and_dates_only():
    one = [{"table": "orders", "rows": 10, "first": "2025-01-01", "last": "2025-03-01"}]
    same = [{"table": "orders", "rows": 10, "first": "2025-01-01", "last": "2025-03-01"}]
    more = [{"table": "orders", "rows": 11, "first": "2025-01-01", "last": "2025-03-01"}]
    later = [{"table": "orders", "rows": 10, "first": "2025-01-01", "last": "2025-03-02"}]
    assert fingerprint_of(one, "duckdb:///a") == fingerprint_of(same, "duckdb:///a")
    assert len({fingerprint_of(one, "duckdb:///a"), fingerprint_of(more, "duckdb:///a"),
                fingerprint_of(later, "duckdb:///a"), fingerprint_of(one, "duckdb:///b")}) == 4
