import datetime as dt
import logging
import os

import pytest

from roles_assets.days import day_order, is_safe_day
from roles_assets.landing import day_files, fingerprint, sync_time
from roles_assets.partitions import landed_days

pytestmark = pytest.mark.fast


def test_days_sort_naturally():
    days = ["day10", "day9", "day1", "day2", "2026-11-24", "2026-11-3", "day01"]
    assert sorted(days, key=day_order) == [
        "2026-11-3",
        "2026-11-24",
        "day01",
        "day1",
        "day2",
        "day9",
        "day10",
    ]


def test_day_order_is_plain_byte_order():
    """SQL compares day_order with COLLATE "C": byte order must agree with Python's sort."""
    days = ["a", "a-1", "a1", "a.b", "a_b", "ab", "b", "a10", "a9", "A", "1", "01", "x2y10", "x2y9"]
    by_key = sorted(days, key=day_order)
    by_bytes = sorted(days, key=lambda d: day_order(d).encode())
    assert by_key == by_bytes
    assert by_key.index("a9") < by_key.index("a10")
    assert by_key.index("x2y9") < by_key.index("x2y10")


@pytest.mark.parametrize("name", ["day1", "2026-11-24", "a.b_c-d", "v1.2"])
def test_safe_days(name):
    assert is_safe_day(name)


@pytest.mark.parametrize(
    "name", ["..", ".", "day 1", "day;drop", "it's", 'a"b', "a,b", "día", "a/b", ""]
)
def test_unsafe_days(name):
    assert not is_safe_day(name)


def test_landed_days_skip_unsafe_folders_with_a_warning(tmp_path, caplog):
    for name in ["day10", "day9", "bad day", "x;y", "it's"]:
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("not a day")
    with caplog.at_level(logging.WARNING):
        assert landed_days(tmp_path) == ["day9", "day10"]
    assert "bad day" in caplog.text and "x;y" in caplog.text


def test_sync_time_comes_from_the_key_or_the_folder(tmp_path):
    dated = tmp_path / "2026-11-24"
    dated.mkdir()
    assert sync_time(dated) == dt.datetime(2026, 11, 24)
    plain = tmp_path / "day3"
    plain.mkdir()
    landed = dt.datetime(2026, 5, 17, 13, 45, 10, tzinfo=dt.UTC).timestamp()
    os.utime(plain, (landed, landed))
    # UTC wall time, whatever TZ the tests run under.
    assert sync_time(plain) == dt.datetime(2026, 5, 17, 13, 45, 10)


def test_day_files_are_json_files_in_name_order(tmp_path, caplog):
    roles = tmp_path / "admin_roles"
    agents = tmp_path / "agent_details"
    (roles / "sub").mkdir(parents=True)
    agents.mkdir()
    for name in ["b.json", "a.json", "readme.txt"]:
        (roles / name).write_text("[]")
    (agents / "1.json").write_text("{}")
    (roles / "link.json").symlink_to(roles / "a.json")
    with caplog.at_level(logging.WARNING):
        assert [f.name for f in day_files(tmp_path)] == [
            "admin_roles/a.json",
            "admin_roles/b.json",
            "agent_details/1.json",
        ]
    # A symlink could reach outside the landing zone: skipped, and said so.
    assert [r.getMessage() for r in caplog.records] == [
        "skipping admin_roles/link.json: not a regular file"
    ]
    before = fingerprint(tmp_path)
    (roles / "c.json").write_text("[]")
    assert fingerprint(tmp_path) != before
