"""Property test: any sequence of staged days, applied in any order, with re-runs and corrected
re-runs, leaves the final tables exactly as a small independent model of the rules says.

The model replays the days one by one in natural order, which is the contract's definition. Days
are staged straight into PostgreSQL (no Spark), so hypothesis can try many histories quickly;
the Spark side of the same rules is covered by test_transforms.py and test_graph.py.
"""

import datetime as dt
import uuid
from dataclasses import dataclass, field

import psycopg2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg2 import sql
from psycopg2.extras import execute_values

from roles_assets_dev import local_postgres
from roles_assets.assets.final import apply_day
from roles_assets.partitions import day_order
from roles_assets.resources.io_managers import partition_table
from roles_assets.resources.postgres import PostgresResource

ROLE_IDS = [1, 2, 3, 2**53 + 1]
AGENT_IDS = [10, 11, 12]
DAY_NUMBERS = [1, 2, 9, 10, 11, 100]  # day9 < day10 only in natural order


@dataclass(frozen=True)
class Day:
    roles: dict[int, str]
    pairs: frozenset[tuple[int, int]]
    complete: bool
    blocked_roles: frozenset[int]  # a rejected record: MISSING_NAME, or DUPLICATE_ROLE if valid
    blocked_agents: frozenset[int]  # a rejected agent file: INVALID_ROLE_IDS
    synced_at: dt.datetime = field(default=dt.datetime(2026, 1, 1))


@st.composite
def days_strategy(draw, number: int) -> Day:
    roles = draw(st.dictionaries(st.sampled_from(ROLE_IDS), st.sampled_from(["a", "b", "c"])))
    candidates = [(a, r) for a in AGENT_IDS for r in roles]
    pairs = draw(st.frozensets(st.sampled_from(candidates))) if candidates else frozenset()
    return Day(
        roles=roles,
        pairs=pairs,
        complete=draw(st.booleans()),
        blocked_roles=draw(st.frozensets(st.sampled_from(ROLE_IDS), max_size=1)),
        blocked_agents=draw(st.frozensets(st.sampled_from(AGENT_IDS), max_size=1)),
        synced_at=dt.datetime(2026, 1, 1) + dt.timedelta(days=number),
    )


@st.composite
def histories(draw):
    """Final day specs, plus the order in which (possibly stale) versions are applied."""
    numbers = draw(st.lists(st.sampled_from(DAY_NUMBERS), min_size=1, max_size=5, unique=True))
    final = {f"day{n}": draw(days_strategy(n)) for n in numbers}
    loads = []
    for name in draw(st.permutations(list(final))):
        if draw(st.booleans()):  # first a version of the day that is later corrected
            n = int(name[3:])
            loads.append((name, draw(days_strategy(n))))
        loads.append((name, final[name]))
    # Re-running days at the end changes nothing.
    for name in draw(st.lists(st.sampled_from(list(final)), max_size=2)):
        loads.append((name, final[name]))
    return final, loads


def model(days: dict[str, Day]):
    """The rules, applied one day at a time in natural order."""
    roles, mapping = {}, {}
    for name in sorted(days, key=day_order):
        day = days[name]
        roles.update(day.roles)
        for pair in day.pairs:
            if pair not in mapping or mapping[pair][0] == "removed":
                mapping[pair] = ("assigned", day.synced_at, None)
        if day.complete:
            for (agent, role), (status, assigned_at, _) in list(mapping.items()):
                if (
                    status == "assigned"
                    and (agent, role) not in day.pairs
                    and role not in day.blocked_roles
                    and agent not in day.blocked_agents
                ):
                    mapping[(agent, role)] = ("removed", assigned_at, day.synced_at)
    return roles, mapping


def stage(url: str, name: str, day: Day) -> None:
    """Replaces the day's staging partitions, as the staging IO manager would."""
    errors = [(name, r, None, "DUPLICATE_ROLE" if r in day.roles else "MISSING_NAME") for r in day.blocked_roles]
    errors += [(name, None, a, "INVALID_ROLE_IDS") for a in day.blocked_agents]
    errors += [] if day.complete else [(name, None, None, "MALFORMED_JSON")]
    rows = {
        "stg_roles": ("role_id, name, sync_day", [(r, n, name) for r, n in day.roles.items()]),
        "stg_agent_roles": (
            "agent_id, role_id, status, sync_day", [(a, r, "assigned", name) for a, r in day.pairs]
        ),
        "role_pipeline_errors": (
            "sync_day, role_id, agent_id, error_type, error_message",
            [(*e, "generated") for e in errors],
        ),
    }
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        for table, (columns, values) in rows.items():
            partition = sql.Identifier(partition_table(table, name))
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(partition))
            cur.execute(
                sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES IN ({})").format(
                    partition, sql.Identifier(table), sql.Literal(name)
                )
            )
            if values:
                execute_values(cur, f"INSERT INTO {table} ({columns}) VALUES %s", values)
    conn.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_any_load_order_matches_the_model(pg_admin_url, history):
    final, loads = history
    name = f"p_{uuid.uuid4().hex[:12]}"
    url = local_postgres.create_database(pg_admin_url, name)
    postgres = PostgresResource(database_url=url)
    postgres.connect().close()  # creates the schema

    for day_name, day in loads:
        stage(url, day_name, day)
        apply_day(postgres, day_name, day.synced_at, allow_mass_removal=True)

    expected_roles, expected_mapping = model(final)
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT role_id, name FROM roles")
        assert dict(cur.fetchall()) == expected_roles
        cur.execute("SELECT agent_id, role_id, status, assigned_at, removed_at FROM agent_role_mapping")
        assert {(a, r): rest for a, r, *rest in cur.fetchall()} == {
            pair: list(state) for pair, state in expected_mapping.items()
        }
    conn.close()
