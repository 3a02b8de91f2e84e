"""Role history at the SQL level: intervals and versions on both apply paths, the same rows
whatever the loading order, role_holders_at, the history checks, and a database that had applied
days before the history tables existed. Days are staged straight into PostgreSQL as in
test_apply_properties.py; the model there checks random histories against the same rules.
"""

import datetime as dt
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roles_assets.checks import query_check
from roles_assets.days import day_order
from roles_assets.resources.postgres import PostgresResource
from roles_assets.warehouse.apply import apply_day
from roles_assets_dev import local_postgres
from roles_assets_tests.helpers import BIG, D
from roles_assets_tests.model import DAY_NUMBERS, Day, days_strategy, stage

HISTORY_TABLES = ["roles", "agent_role_mapping", "agent_role_history", "role_history", "sync_days"]
HISTORY_CHECKS = [
    ("overlapping_intervals.sql", "bad_intervals"),
    ("history_disagrees_with_mapping.sql", "disagreeing_pairs"),
    ("role_history_disagrees_with_roles.sql", "disagreeing_roles"),
]


def attributes(name: str, description: str | None = None) -> tuple:
    """A role's ATTRIBUTES (model.py), the other values absent."""
    return (name, description, None, None, None, None)


def day(at: dt.datetime, pairs=(), roles=None, complete=True) -> Day:
    return Day(
        roles=roles or {BIG: attributes("Administrator")},
        pairs=frozenset(pairs),
        complete=complete,
        synced_at=at,
    )


def new_database(pg_admin_url) -> PostgresResource:
    url = local_postgres.create_database(pg_admin_url, f"h_{uuid.uuid4().hex[:12]}")
    postgres = PostgresResource(database_url=url)
    postgres.migrate()
    return postgres


def load(postgres: PostgresResource, loads: list[tuple[str, Day]]) -> list[bool]:
    """Stages and applies each (day, version) in turn; returns which applies were incremental."""
    modes = []
    for name, version in loads:
        stage(postgres, name, version)
        modes.append(
            apply_day(postgres, name, version.synced_at, allow_mass_removal=True).incremental
        )
    return modes


def query(postgres: PostgresResource, text: str, params=None) -> list[tuple]:
    with postgres.transaction() as cur:
        cur.execute(text, params)
        return cur.fetchall()


def execute(postgres: PostgresResource, text: str) -> None:
    with postgres.transaction() as cur:
        cur.execute(text)


def dump(postgres: PostgresResource) -> dict[str, list[tuple]]:
    """Every row of the final tables, all columns, in a total order."""
    return {
        table: query(postgres, f"SELECT * FROM {table} t ORDER BY t") for table in HISTORY_TABLES
    }


def intervals(postgres: PostgresResource) -> list[tuple]:
    return query(
        postgres,
        "SELECT agent_id, role_id, assigned_day, assigned_at, removed_day, removed_at"
        " FROM agent_role_history ORDER BY agent_id, role_id, assigned_at",
    )


def holders(postgres: PostgresResource, ts: dt.datetime) -> list[tuple]:
    return query(postgres, "SELECT * FROM role_holders_at(%s) ORDER BY 1, 2", (ts,))


def failed_checks(postgres: PostgresResource) -> list[str]:
    with postgres.transaction() as cur:
        return [
            name
            for name, label in HISTORY_CHECKS
            if not query_check(cur, name, label, sync_day=None).passed  # every row
        ]


# Left the role on day 2 and back on day 3; day 2's sync time is the earliest of the three, as
# sync times from folder times may be: intervals follow the days' order, not the timestamps.
REASSIGNED = [
    ("day1", day(D(2026, 11, 10, 9), pairs=[(BIG, BIG)])),
    ("day2", day(D(2026, 11, 1), pairs=[])),
    ("day3", day(D(2026, 11, 12), pairs=[(BIG, BIG)])),
]


def test_a_removal_then_a_reassignment_gives_two_intervals_on_either_path(pg_admin_url):
    postgres = new_database(pg_admin_url)
    assert load(postgres, REASSIGNED) == [True, True, True]
    expected = [
        (BIG, BIG, "day1", D(2026, 11, 10, 9), "day2", D(2026, 11, 1)),
        (BIG, BIG, "day3", D(2026, 11, 12), None, None),
    ]
    assert intervals(postgres) == expected
    assert query(postgres, "SELECT status, assigned_at FROM agent_role_mapping") == [
        ("assigned", D(2026, 11, 12))
    ]
    # As of a time: the state after the last day (in natural order) synced by then. Day 2 was
    # synced first, yet it follows day 1: until day 3's sync the pair is as day 2 left it.
    assert holders(postgres, D(2026, 10, 31)) == []
    assert holders(postgres, D(2026, 11, 11)) == []
    assert holders(postgres, D(2026, 11, 12)) == [(BIG, BIG)]
    assert failed_checks(postgres) == []

    before = dump(postgres)
    assert load(postgres, [("day2", REASSIGNED[1][1])]) == [False]  # a re-run replays
    assert dump(postgres) == before


def test_an_incomplete_day_closes_nothing(pg_admin_url):
    postgres = new_database(pg_admin_url)
    load(
        postgres,
        [
            ("day1", day(D(2026, 11, 1), pairs=[(10, BIG)])),
            ("day2", day(D(2026, 11, 2), pairs=[], complete=False)),
        ],
    )
    assert intervals(postgres) == [(10, BIG, "day1", D(2026, 11, 1), None, None)]
    assert holders(postgres, D(2026, 11, 3)) == [(10, BIG)]
    load(postgres, [("day2", day(D(2026, 11, 2), pairs=[]))])  # day 2 corrected, now complete
    assert intervals(postgres) == [(10, BIG, "day1", D(2026, 11, 1), "day2", D(2026, 11, 2))]
    # Who held the role on 2026-11-01, at noon, and on the next day.
    assert holders(postgres, D(2026, 10, 31)) == []
    assert holders(postgres, D(2026, 11, 1, 12)) == [(10, BIG)]
    assert holders(postgres, D(2026, 11, 2, 12)) == []


def test_a_role_repeated_unchanged_opens_no_version(pg_admin_url):
    postgres = new_database(pg_admin_url)
    descriptions = [None, None, "now described", "now described", None]
    load(
        postgres,
        [
            (f"day{n}", day(D(2026, 11, n), roles={BIG: attributes("a", description)}))
            for n, description in enumerate(descriptions, start=1)
        ],
    )
    assert query(
        postgres,
        "SELECT role_id, description, from_day, valid_from, to_day, valid_to"
        " FROM role_history ORDER BY valid_from",
    ) == [
        (BIG, None, "day1", D(2026, 11, 1), "day3", D(2026, 11, 3)),
        (BIG, "now described", "day3", D(2026, 11, 3), "day5", D(2026, 11, 5)),
        (BIG, None, "day5", D(2026, 11, 5), None, None),
    ]
    assert failed_checks(postgres) == []


@st.composite
def two_orders(draw):
    """A set of days, loaded in natural order once, and in any order with corrections and
    repeats."""
    names = [
        f"day{n}"
        for n in draw(st.lists(st.sampled_from(DAY_NUMBERS), min_size=2, max_size=5, unique=True))
    ]
    final = {name: draw(days_strategy()) for name in names}
    in_order = [(name, final[name]) for name in sorted(names, key=day_order)]
    shuffled = []
    for name in draw(st.permutations(names)):
        if draw(st.booleans()):
            shuffled.append((name, draw(days_strategy())))
        shuffled.append((name, final[name]))
    shuffled += [(name, final[name]) for name in draw(st.lists(st.sampled_from(names), max_size=2))]
    return in_order, shuffled


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(orders=two_orders())
def test_any_loading_order_gives_byte_identical_tables(pg_admin_url, orders):
    in_order, shuffled = orders
    first, second = new_database(pg_admin_url), new_database(pg_admin_url)
    load(first, in_order)
    load(second, shuffled)
    assert dump(first) == dump(second)
    assert failed_checks(second) == []


def test_the_history_checks_catch_corrupted_history(pg_admin_url):
    postgres = new_database(pg_admin_url)
    load(postgres, REASSIGNED)
    assert failed_checks(postgres) == []
    # The first interval left open, overlapping the second (once the index allows it).
    execute(
        postgres,
        "DROP INDEX agent_role_history_open;"
        " UPDATE agent_role_history SET removed_day = NULL, removed_at = NULL"
        " WHERE assigned_day = 'day1'",
    )
    assert failed_checks(postgres) == ["overlapping_intervals.sql"]
    execute(postgres, "DELETE FROM agent_role_history WHERE assigned_day = 'day1'")
    assert failed_checks(postgres) == []
    execute(postgres, "UPDATE agent_role_history SET assigned_at = assigned_at + interval '1 hour'")
    assert failed_checks(postgres) == ["history_disagrees_with_mapping.sql"]
    execute(
        postgres,
        "UPDATE agent_role_history SET assigned_at = assigned_at - interval '1 hour';"
        " UPDATE roles SET description = 'edited'",
    )
    assert failed_checks(postgres) == ["role_history_disagrees_with_roles.sql"]
