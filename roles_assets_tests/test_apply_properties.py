"""Property test: any sequence of staged days, applied in any order, with re-runs, corrected
re-runs and refusals, leaves the final tables and their histories exactly as a small independent
model of the rules says.

The model replays the applied days one by one in natural order, which is the contract's
definition, and predicts which loads the mass-removal guard refuses. Days are staged straight
into PostgreSQL through the staging IO manager's swap (no Spark), so hypothesis can try many
histories quickly; the Spark side of the same rules is covered by test_transforms.py and
test_graph.py.
"""

import datetime as dt
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings

from roles_assets.resources.postgres import PostgresResource
from roles_assets.warehouse.apply import MassRemovalRefused, apply_day
from roles_assets_dev import local_postgres
from roles_assets_tests.model import (
    MAX_REMOVAL_SHARE,
    Day,
    histories,
    holders,
    holders_at,
    model,
    refused,
    stage,
    warehouse_state,
)

# The final tables whose kept counts (the metadata's) differ from their rows counted now.
MISCOUNTED = """
SELECT coalesce(kept.table_name, counted.table_name)
FROM final_table_counts kept
FULL JOIN (
    SELECT 'roles', count(*), count(*) FILTER (WHERE deleted_at IS NULL) FROM roles
    UNION ALL
    SELECT 'agent_role_mapping', count(*), count(*) FILTER (WHERE status = 'assigned')
    FROM agent_role_mapping
    UNION ALL
    SELECT 'agent_role_history', count(*), count(*) FILTER (WHERE removed_day IS NULL)
    FROM agent_role_history
    UNION ALL
    SELECT 'role_history', count(*), count(*) FILTER (WHERE to_day IS NULL) FROM role_history
) counted (table_name, row_count, current_rows) ON counted.table_name = kept.table_name
WHERE (kept.row_count, kept.current_rows) IS DISTINCT FROM (counted.row_count, counted.current_rows)
"""


def roles_only(*role_ids: int, hour: int) -> Day:
    """A complete day of these roles (attributes alike) and nothing else."""
    return Day(
        roles={r: ("a", None, None, None, None, None) for r in role_ids},
        pairs=frozenset(),
        complete=True,
        synced_at=dt.datetime(2026, 1, 1, hour),
    )


# Deleting two roles of three, refused on either path unless allowed: rare in random histories.
@pytest.mark.slow
@example(
    loads=[("day1", roles_only(1, 2, 3, hour=1), False), ("day2", roles_only(1, hour=2), False)]
)
@example(
    loads=[
        ("day1", roles_only(1, 2, 3, hour=1), False),
        ("day2", roles_only(1, 2, 3, hour=2), False),
        ("day2", roles_only(1, hour=2), False),
        ("day2", roles_only(1, hour=2), True),
    ]
)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(loads=histories())
def test_any_load_order_matches_the_model(pg_admin_url, loads):
    url = local_postgres.create_database(pg_admin_url, f"p_{uuid.uuid4().hex[:12]}")
    postgres = PostgresResource(database_url=url)
    postgres.migrate()

    applied: dict[str, Day] = {}
    for name, day, allow in loads:
        stage(postgres, name, day)
        expected_refusal = refused(applied, name, day, allow)
        try:
            apply_day(postgres, name, day.synced_at, allow, MAX_REMOVAL_SHARE)
        except MassRemovalRefused:
            assert expected_refusal, f"{name} was refused, the model applies it"
        else:
            assert not expected_refusal, f"{name} was applied, the model refuses it"
            applied[name] = day
        # After every load, not only at the end: a later day can hide an earlier mistake.
        assert warehouse_state(postgres) == (
            *model(applied),
            {name: day.synced_at for name, day in applied.items()},
        ), f"after loading {name}"
        times = {day.synced_at for day in applied.values()}
        assert holders(postgres, times) == {ts: holders_at(applied, ts) for ts in times}, (
            f"role_holders_at after loading {name}"
        )
        with postgres.transaction() as cur:
            cur.execute(MISCOUNTED)
            assert cur.fetchall() == [], f"counts after loading {name}"
