"""A day's cost does not grow with history: its checks of the final tables read the keys its apply
wrote (day_changed_pairs, day_changed_roles), the history_full_checks job reads every row, and the
counts the metadata reports are kept as rows are written. Days are staged straight into
PostgreSQL as in test_history.py."""

import datetime as dt
import uuid

import dagster as dg
import pytest

from roles_assets.checks import ALL_CHECKS, CHECKS, history_full_checks
from roles_assets.resources.limits import GuardLimits
from roles_assets.resources.postgres import PostgresResource
from roles_assets.warehouse.apply import AppliedDay, apply_day
from roles_assets_dev import local_postgres
from roles_assets_tests.helpers import BIG, D
from roles_assets_tests.model import Day, stage

SCOPED = {check.name: check for check in CHECKS if check.day_scoped}
OTHER_ROLE = 7


def day(at: dt.datetime, pairs, names: dict[int, str]) -> Day:
    return Day(
        roles={role: (name, None, None, None, None, None) for role, name in names.items()},
        pairs=frozenset(pairs),
        complete=True,
        synced_at=at,
    )


# Day 2 removes (11, BIG), assigns (12, BIG) and renames BIG; (10, BIG), (20, OTHER_ROLE) and
# OTHER_ROLE stay as day 1 left them.
DAY1 = day(D(2026, 11, 1), [(10, BIG), (11, BIG), (20, OTHER_ROLE)], {BIG: "a", OTHER_ROLE: "o"})
DAY2 = day(D(2026, 11, 2), [(10, BIG), (12, BIG), (20, OTHER_ROLE)], {BIG: "b", OTHER_ROLE: "o"})


@pytest.fixture
def postgres(pg_admin_url) -> PostgresResource:
    url = local_postgres.create_database(pg_admin_url, f"s_{uuid.uuid4().hex[:12]}")
    postgres = PostgresResource(database_url=url)
    postgres.migrate()
    return postgres


def load(postgres: PostgresResource, loads: list[tuple[str, Day]]) -> AppliedDay:
    """Stages and applies each (day, version) in turn; returns the last apply."""
    for name, version in loads:
        stage(postgres, name, version)
        applied = apply_day(postgres, name, version.synced_at, allow_mass_removal=True)
    return applied


def query(postgres: PostgresResource, text: str, params=None) -> list[tuple]:
    with postgres.transaction() as cur:
        cur.execute(text, params)
        return cur.fetchall() if cur.description else []


def changed(postgres: PostgresResource, sync_day: str) -> tuple[set, set]:
    pairs = query(
        postgres, "SELECT agent_id, role_id FROM day_changed_pairs WHERE sync_day = %s", (sync_day,)
    )
    roles = query(
        postgres, "SELECT role_id FROM day_changed_roles WHERE sync_day = %s", (sync_day,)
    )
    return set(pairs), {role for (role,) in roles}


def passes(postgres: PostgresResource, check: str, sync_day: str | None) -> bool:
    with postgres.transaction() as cur:
        return SCOPED[check].evaluate(sync_day, cur, GuardLimits()).passed


def true_counts(postgres: PostgresResource) -> dict:
    """What the metadata must say, counted over the whole tables."""
    ((roles, deleted),) = query(postgres, "SELECT count(*), count(deleted_at) FROM roles")
    ((mapped, assigned),) = query(
        postgres,
        "SELECT count(*), count(*) FILTER (WHERE status = 'assigned') FROM agent_role_mapping",
    )
    ((intervals, open_intervals),) = query(
        postgres,
        "SELECT count(*), count(*) FILTER (WHERE removed_day IS NULL) FROM agent_role_history",
    )
    ((versions, current),) = query(
        postgres, "SELECT count(*), count(*) FILTER (WHERE to_day IS NULL) FROM role_history"
    )
    return {
        "roles": {"dagster/row_count": roles, "deleted": deleted},
        "agent_role_mapping": {
            "dagster/row_count": mapped,
            "assigned": assigned,
            "removed": mapped - assigned,
        },
        "agent_role_history": {"dagster/row_count": intervals, "open_intervals": open_intervals},
        "role_history": {"dagster/row_count": versions, "current_versions": current},
    }


def test_a_day_records_the_keys_its_apply_wrote(postgres):
    load(postgres, [("day1", DAY1), ("day2", DAY2)])
    assert changed(postgres, "day1") == (
        {(10, BIG), (11, BIG), (20, OTHER_ROLE)},
        {BIG, OTHER_ROLE},
    )
    assert changed(postgres, "day2") == ({(11, BIG), (12, BIG)}, {BIG})
    assert all(passes(postgres, name, "day2") for name in SCOPED)


# Per check: a corruption of one pair's (or role's) rows that the check catches.
CORRUPTIONS = {
    "agent_role_history_intervals_disjoint": (
        "UPDATE agent_role_history SET removed_day = assigned_day, removed_at = assigned_at"
        " WHERE agent_id = %(agent)s AND role_id = %(role)s"
    ),
    "agent_role_history_matches_mapping": (
        "UPDATE agent_role_history SET assigned_at = assigned_at + interval '1 hour'"
        " WHERE agent_id = %(agent)s AND role_id = %(role)s"
    ),
    "agent_role_mapping_status_consistent": (
        "UPDATE agent_role_mapping SET removed_at = assigned_at"
        " WHERE agent_id = %(agent)s AND role_id = %(role)s"
    ),
    "role_history_current_matches_roles": (
        "UPDATE roles SET description = 'edited' WHERE role_id = %(role)s"
    ),
}


@pytest.mark.parametrize("check", sorted(CORRUPTIONS))
def test_a_days_check_catches_its_own_rows_and_the_full_check_every_row(postgres, check):
    load(postgres, [("day1", DAY1), ("day2", DAY2)])
    assert set(CORRUPTIONS) == set(SCOPED)
    # An untouched pair and role: day 2's check does not see them, the full check does.
    query(postgres, CORRUPTIONS[check], {"agent": 20, "role": OTHER_ROLE})
    assert passes(postgres, check, "day2")
    assert not passes(postgres, check, None)
    assert not passes(postgres, check, "day1")  # day 1 wrote them
    # A pair and role day 2 wrote: its own check catches them.
    query(postgres, CORRUPTIONS[check], {"agent": 12, "role": BIG})
    assert not passes(postgres, check, "day2")


def final_rows(postgres: PostgresResource) -> dict[str, set]:
    return {
        table: set(query(postgres, f"SELECT * FROM {table}"))
        for table in ("agent_role_mapping", "agent_role_history", "roles", "role_history")
    }


def test_a_replay_folds_into_its_copies_whatever_the_search_path(postgres):
    """A replay folds the days into temporary copies named like the final tables; a search_path
    that names pg_temp after the schema must not send the fold into the tables themselves."""
    query(
        postgres,
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = public, pg_temp',"
        " current_database()); END $$",
    )
    load(postgres, [("day1", DAY1), ("day2", DAY2)])
    before = final_rows(postgres)
    applied = load(postgres, [("day1", DAY1)])  # the same day again: a replay
    assert not applied.incremental
    assert final_rows(postgres) == before
    assert changed(postgres, "day1") == (set(), set())
    assert query(postgres, "SHOW search_path") == [("public, pg_temp",)]


def test_a_replay_records_what_it_rewrote(postgres):
    day3 = day(
        D(2026, 11, 3), [(10, BIG), (12, BIG), (20, OTHER_ROLE)], {BIG: "b", OTHER_ROLE: "o"}
    )
    load(postgres, [("day1", DAY1), ("day2", DAY2), ("day3", day3)])
    before = final_rows(postgres)
    # Day 2 corrected: (10, BIG) removed there too, (11, BIG) kept, OTHER_ROLE renamed. Day 3
    # assigns (10, BIG) again: a new interval of day 3's, written by the replay of day 2.
    corrected = day(
        D(2026, 11, 2), [(11, BIG), (12, BIG), (20, OTHER_ROLE)], {BIG: "b", OTHER_ROLE: "p"}
    )
    applied = load(postgres, [("day2", corrected)])
    assert not applied.incremental
    rewritten = {
        table: rows ^ set(query(postgres, f"SELECT * FROM {table}"))
        for table, rows in before.items()
    }
    pairs = {row[:2] for row in rewritten["agent_role_mapping"] | rewritten["agent_role_history"]}
    roles = {row[0] for row in rewritten["roles"] | rewritten["role_history"]}
    assert pairs == {(10, BIG), (11, BIG)} and roles == {OTHER_ROLE}
    assert changed(postgres, "day2") == (pairs, roles)
    assert applied.counts == true_counts(postgres)
    query(postgres, CORRUPTIONS["agent_role_history_matches_mapping"], {"agent": 10, "role": BIG})
    assert not passes(postgres, "agent_role_history_matches_mapping", "day2")


def test_the_counts_follow_every_write(postgres):
    deleted = day(D(2026, 11, 3), [(10, BIG)], {BIG: "b"})  # OTHER_ROLE deleted
    for loads in (
        [("day1", DAY1)],
        [("day2", DAY2)],
        [("day3", deleted)],
        [("day1", DAY2)],  # a replay
        [("day2", DAY1), ("day3", DAY1)],
    ):
        assert load(postgres, loads).counts == true_counts(postgres)
    # Written by hand, outside any apply, then truncated: still counted.
    query(postgres, "DELETE FROM agent_role_history WHERE agent_id = 10")
    query(postgres, "UPDATE agent_role_mapping SET status = 'removed' WHERE agent_id = 20")
    ((rows, assigned),) = query(
        postgres,
        "SELECT row_count, current_rows FROM final_table_counts"
        " WHERE table_name = 'agent_role_mapping'",
    )
    assert (rows, assigned) == (4, 2)
    query(postgres, "TRUNCATE agent_role_history")
    assert query(
        postgres,
        "SELECT row_count, current_rows FROM final_table_counts"
        " WHERE table_name = 'agent_role_history'",
    ) == [(0, 0)]


def test_the_full_checks_job_fails_naming_each_failing_check(postgres):
    load(postgres, [("day1", DAY1), ("day2", DAY2)])
    resources = {"postgres": postgres, "limits": GuardLimits()}
    result = history_full_checks.execute_in_process(resources=resources)
    assert result.success
    assert {event.step_key for event in result.get_step_success_events()} == set(SCOPED)

    query(postgres, CORRUPTIONS["role_history_current_matches_roles"], {"role": OTHER_ROLE})
    result = history_full_checks.execute_in_process(resources=resources, raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "role_history_current_matches_roles"
    error = failure.step_failure_data
    assert "over the whole of role_history" in error.user_failure_data.description
    assert error.user_failure_data.metadata["disagreeing_roles"] == dg.IntMetadataValue(1)


def test_the_ui_tells_which_checks_read_only_the_day_and_where_the_full_ones_are():
    described = {spec.name: spec.description for check in ALL_CHECKS for spec in check.check_specs}
    assert {name for name, text in described.items() if "history_full_checks" in text} == set(
        SCOPED
    )
    assert history_full_checks.description and "every row" in history_full_checks.description
