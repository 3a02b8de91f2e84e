"""The whole graph through Dagster, on a real PostgreSQL and a real Spark (the suite's Spark
Connect server)."""

import datetime as dt
import os
import shutil
import time

import dagster as dg
import pytest
from pyspark.sql import functions as F

from roles_assets import checks
from roles_assets.resources.parquet_io import SparkParquetIOManager
from roles_assets.resources.postgres import PostgresResource
from roles_assets.resources.spark import spark_resource
from roles_assets_dev.config import SAMPLE_LANDING_DIR
from roles_assets_tests.helpers import BIG, D, materialized, role, write_day


def test_runs_under_a_non_utc_zone():
    assert time.localtime().tm_gmtoff != 0


def test_sample_days_end_to_end(graph, landing):
    shutil.copytree(SAMPLE_LANDING_DIR, landing, dirs_exist_ok=True)
    results = [graph.run(day) for day in ["2026-11-22", "2026-11-23", "2026-11-24"]]

    assert materialized(results[0], "stg_roles")["dagster/row_count"] == 6
    assert materialized(results[0], "stg_agent_roles")["dagster/row_count"] == 12
    errors_day2 = materialized(results[1], "role_errors")
    counts = {k: v for k, v in errors_day2.items() if k.startswith("error_type/")}
    assert {k: v for k, v in counts.items() if v} == {
        "error_type/DUPLICATE_ROLE": 1,
        "error_type/INVALID_AGENT_ID": 1,
        "error_type/INVALID_ROLE_IDS": 1,
        "error_type/INVALID_VALUE": 1,
    }
    assert counts["error_type/MALFORMED_JSON"] == 0 and len(counts) == 10
    assert errors_day2["dagster/row_count"] == 4
    sample = errors_day2["sample_rows"]
    assert [c.name for c in sample.schema.columns] == [
        "error_type",
        "role_id",
        "error_message",
        "source_file",
    ]
    assert len(sample.records) == 4
    first = sample.records[0].data
    assert (first["error_type"], first["role_id"], first["source_file"]) == (
        "DUPLICATE_ROLE",
        67000000002,
        "admin_roles/roles_page_2.json",
    )
    assert materialized(results[0], "raw_roles")["dagster/row_count"] > 0
    assert materialized(results[0], "raw_roles")["files"] == 4  # two of roles, two of agents
    assert materialized(results[2], "agent_role_mapping")["assigned"] == 13
    assert materialized(results[2], "agent_role_mapping")["dagster/row_count"] == 13
    for result in results:
        evaluations = result.get_asset_check_evaluations()
        assert len(evaluations) == 15 and all(c.passed for c in evaluations)

    roles = {r[0]: r for r in graph.query("SELECT * FROM roles")}
    assert len(roles) == 7
    assert roles[BIG][1:3] == ("Équipe Support — 東京", "Tokyo support desk (日本語のサポート)")
    assert roles[67000000003][1] == "Team Supervisor"  # renamed on day 2
    # agent_type "field" on day 2 keeps day 1's 2 (day 3's copy was lost to a malformed file).
    assert roles[67000000005][4] == 2
    assert roles[67000000003][6] == D(2026, 11, 22, 16, 45)  # UTC wall time, not shifted by TZ

    mapping = graph.mapping()
    assert len(mapping) == 13
    # Left the role on day 2, back on day 3: a re-assignment at day 3's sync time.
    assert mapping[(67000100007, 67000000004)] == ("assigned", D(2026, 11, 24), None)
    # Day 2 lists the agent as an object, not an id: a damaged list removes nothing.
    assert mapping[(67000100008, 67000000005)] == ("assigned", D(2026, 11, 22), None)
    # Day 2 rejected this agent's file, and day 3 is incomplete: never removed.
    assert mapping[(67000100011, BIG)] == ("assigned", D(2026, 11, 22), None)
    assert mapping[(67000100012, 67000000004)] == ("assigned", D(2026, 11, 22), None)

    # One open interval per assigned pair, and a closed one for the pair that left on day 2.
    # Role 3 has a version per name.
    history = materialized(results[2], "agent_role_history")
    assert (history["dagster/row_count"], history["open_intervals"]) == (14, 13)
    assert graph.query(
        "SELECT assigned_day, removed_day FROM agent_role_history"
        " WHERE agent_id = 67000100007 AND role_id = 67000000004 ORDER BY assigned_day"
    ) == [("2026-11-22", "2026-11-23"), ("2026-11-24", None)]
    assert graph.query(
        "SELECT name, from_day, to_day FROM role_history WHERE role_id = 67000000003"
        " ORDER BY valid_from"
    ) == [("Supervisor", "2026-11-22", "2026-11-23"), ("Team Supervisor", "2026-11-23", None)]

    errors = graph.query(
        "SELECT sync_day, error_type, role_id, raw_record, source_file FROM role_pipeline_errors"
        " ORDER BY sync_day, error_type"
    )
    assert [(e[0], e[1]) for e in errors] == [
        ("2026-11-22", "MISSING_NAME"),
        ("2026-11-22", "UNKNOWN_ROLE"),
        ("2026-11-23", "DUPLICATE_ROLE"),
        ("2026-11-23", "INVALID_AGENT_ID"),
        ("2026-11-23", "INVALID_ROLE_IDS"),
        ("2026-11-23", "INVALID_VALUE"),
        ("2026-11-24", "MALFORMED_JSON"),
    ]
    missing_name = errors[0]
    assert missing_name[2] == 67000000099
    assert missing_name[3]["description"] == "draft role, no name yet"
    assert missing_name[4] == "admin_roles/roles_page_2.json"
    assert errors[-1][3]["file_text"].startswith('{"roles": [')


def test_removal_and_reassignment(graph, landing):
    write_day(landing, "2026-01-01", roles=[role(1, agent_ids=[10, 11])])
    write_day(landing, "2026-01-02", roles=[role(1, agent_ids=[10])])
    write_day(landing, "2026-01-03", roles=[role(1, agent_ids=[10, 11])])

    graph.load(["2026-01-01", "2026-01-02"])
    assert graph.mapping() == {
        (10, 1): ("assigned", D(2026, 1, 1), None),
        (11, 1): ("removed", D(2026, 1, 1), D(2026, 1, 2)),
    }
    graph.run("2026-01-03")
    assert graph.mapping() == {
        (10, 1): ("assigned", D(2026, 1, 1), None),
        (11, 1): ("assigned", D(2026, 1, 3), None),
    }


def test_bad_data_never_removes_good_data(graph, landing):
    write_day(
        landing,
        "2026-01-01",
        roles=[role(1, agent_ids=[10]), role(2, agent_ids=[20]), role(3, agent_ids=[30]), role(4)],
        agents=[{"id": 40, "role_ids": [4]}],
    )
    write_day(
        landing,
        "2026-01-02",
        roles=[
            role(1, name=" ", agent_ids=[]),  # MISSING_NAME: role 1 keeps its agents
            role(2, agent_ids=[]),
            role(2, agent_ids=[]),  # DUPLICATE_ROLE: role 2 keeps them too
            role(3, agent_ids=[]),  # a plain removal
            role(4),
        ],
        agents=[{"id": 40, "role_ids": "4"}],  # INVALID_ROLE_IDS: agent 40 keeps its roles
    )
    graph.run("2026-01-01")
    graph.run("2026-01-02")
    assert {pair: state[0] for pair, state in graph.mapping().items()} == {
        (10, 1): "assigned",
        (20, 2): "assigned",
        (30, 3): "removed",
        (40, 4): "assigned",
    }


def test_incomplete_day_adds_and_updates_but_removes_nothing(graph, landing):
    write_day(landing, "2026-01-01", roles=[role(1, name="one", agent_ids=[10])])
    write_day(
        landing,
        "2026-01-02",
        roles=[role(1, name="one renamed", agent_ids=[]), role(2, agent_ids=[20])],
        files={"admin_roles/zz_truncated.json": '[{"id": 3, "name": '},
    )
    graph.run("2026-01-01")
    graph.run("2026-01-02")
    assert graph.mapping() == {
        (10, 1): ("assigned", D(2026, 1, 1), None),
        (20, 2): ("assigned", D(2026, 1, 2), None),
    }
    assert graph.query("SELECT role_id, name FROM roles ORDER BY 1") == [
        (1, "one renamed"),
        (2, "Role"),
    ]


TEAM = role(9, "team", range(100, 110))  # stable assignments: no day trips the mass-removal guard


def _history(landing):
    """Four days with renames, removals, re-assignments, rejections and an incomplete day."""
    write_day(
        landing,
        "day1",
        roles=[role(1, "a", [10, 11]), role(2, "b", [20]), role(BIG, "big", [30]), TEAM],
        agents=[{"id": 40, "role_ids": [1]}],
    )
    write_day(
        landing,
        "day2",
        roles=[role(1, "a2", [10]), role(2, "b", [20, 21]), role(BIG, " ", []), TEAM],
        agents=[{"id": 40, "role_ids": "1"}],
    )
    write_day(
        landing,
        "day9",
        roles=[role(1, "a2", [10, 11]), role(2, "b9", []), TEAM],
        files={"admin_roles/broken.json": "{"},
    )
    write_day(
        landing,
        "day10",
        roles=[role(1, "a10", [11]), role(3, "c", [20]), TEAM],
        agents=[{"id": 40, "role_ids": [3, 77]}],
    )
    days = ["day1", "day2", "day9", "day10"]
    for day in days:  # no date in these keys: the sync time is when the folder landed
        landed = SYNCED[day].replace(tzinfo=dt.UTC).timestamp()
        os.utime(landing / day, (landed, landed))
    return days


SYNCED = {
    "day1": D(2026, 2, 1, 6),
    "day2": D(2026, 2, 2, 6),
    "day9": D(2026, 2, 9, 6),
    "day10": D(2026, 2, 10, 6),
}


@pytest.mark.slow
def test_days_in_any_order_give_the_same_tables(make_graph, landing):
    days = _history(landing)
    in_order = make_graph()
    in_order.load(days)
    expected = in_order.final_rows()
    # The history itself, by the rules: day9 is incomplete, day10 is the first complete day
    # after it, and day2's rejections (role BIG's name, agent 40's file) protect their pairs.
    removed_day10 = ("removed", SYNCED["day1"], SYNCED["day10"])
    assert {pair: state for pair, state in in_order.mapping().items() if pair[1] != 9} == {
        (10, 1): removed_day10,
        (11, 1): ("assigned", SYNCED["day9"], None),  # removed on day2, back on day9
        (20, 2): removed_day10,
        (21, 2): ("removed", SYNCED["day2"], SYNCED["day10"]),
        (30, BIG): removed_day10,
        (40, 1): removed_day10,
        (20, 3): ("assigned", SYNCED["day10"], None),
        (40, 3): ("assigned", SYNCED["day10"], None),
    }
    assert [r[:2] for r in expected["roles"]] == [
        (1, "a10"),
        (2, "b9"),
        (3, "c"),
        (9, "team"),
        (BIG, "big"),
    ]
    # Removed on day2 and back on day9: two intervals.
    assert [row for row in expected["agent_role_history"] if row[:2] == (11, 1)] == [
        (11, 1, "day1", SYNCED["day1"], "day2", SYNCED["day2"]),
        (11, 1, "day9", SYNCED["day9"], None, None),
    ]

    for order in [days[::-1], ["day9", "day1", "day10", "day2"]]:
        other = make_graph()
        for day in order:
            result = other.run(day)
            # Replays and incremental days alike: the counts reported are the tables' own.
            assert {key: materialized(result, key[0])[key[1]] for key in COUNTED} == {
                key: other.query(count)[0][0] for key, count in COUNTED.items()
            }, day
        assert other.final_rows() == expected, order


# Each count the final tables report as metadata, and the same counted over the whole table.
COUNTED = {
    ("roles", "dagster/row_count"): "SELECT count(*) FROM roles",
    ("roles", "deleted"): "SELECT count(deleted_at) FROM roles",
    ("agent_role_mapping", "dagster/row_count"): "SELECT count(*) FROM agent_role_mapping",
    ("agent_role_mapping", "assigned"): (
        "SELECT count(*) FROM agent_role_mapping WHERE status = 'assigned'"
    ),
    ("agent_role_mapping", "removed"): (
        "SELECT count(*) FROM agent_role_mapping WHERE status = 'removed'"
    ),
    ("agent_role_history", "dagster/row_count"): "SELECT count(*) FROM agent_role_history",
    ("agent_role_history", "open_intervals"): (
        "SELECT count(*) FROM agent_role_history WHERE removed_day IS NULL"
    ),
    ("role_history", "dagster/row_count"): "SELECT count(*) FROM role_history",
    ("role_history", "current_versions"): "SELECT count(*) FROM role_history WHERE to_day IS NULL",
}


STAGED_ROWS_PER_DAY = (
    "SELECT sync_day, (SELECT count(*) FROM stg_roles s WHERE s.sync_day = d.sync_day),"
    " (SELECT count(*) FROM stg_agent_roles s WHERE s.sync_day = d.sync_day),"
    " (SELECT count(*) FROM role_pipeline_errors s WHERE s.sync_day = d.sync_day)"
    " FROM sync_days d ORDER BY 1"
)


def test_rerunning_days_changes_nothing(graph, landing):
    graph.load(_history(landing))
    expected = graph.final_rows()
    staged = graph.query(STAGED_ROWS_PER_DAY)
    for day in ["day2", "day10", "day2"]:
        graph.run(day)
    assert graph.final_rows() == expected
    assert graph.query(STAGED_ROWS_PER_DAY) == staged


def test_reruns_keep_recent_raw_folders_and_delete_old_ones(graph, landing):
    write_day(landing, "2026-01-01", roles=[role(1)])
    day_path = graph.raw_path / "raw_roles" / "sync_day=2026-01-01"
    first, second = graph.run("2026-01-01"), graph.run("2026-01-01")
    assert _folders(day_path) == _run_folders(first, second)

    two_hours_ago = time.time() - 7200  # older than the IO manager's keep_seconds (1 h)
    os.utime(day_path / f"run_id={first.run_id}", (two_hours_ago, two_hours_ago))
    third = graph.run("2026-01-01")
    assert _folders(day_path) == _run_folders(second, third)


def test_a_small_stored_day_is_read_as_one_spark_partition(spark, spark_config_of_tests, tmp_path):
    rows = spark.range(1000).withColumn("sync_day", F.lit("2026-01-01")).repartition(4)

    def stored_and_read(one_partition_bytes: int):
        io_manager = SparkParquetIOManager(
            base_path=str(tmp_path),
            spark=spark_resource(spark_config_of_tests),
            one_partition_bytes=one_partition_bytes,
        )
        day = {"asset_key": dg.AssetKey("raw_roles"), "partition_key": "2026-01-01"}
        output = dg.build_output_context(**day, run_id=f"run_{one_partition_bytes}")
        io_manager.handle_output(output, rows)
        return io_manager.load_input(dg.build_input_context(**day, upstream_output=output))

    small, above_the_limit = stored_and_read(1024 * 1024), stored_and_read(0)

    def partitions(rows) -> int:  # a Connect DataFrame has no .rdd: count where rows are
        return rows.select(F.spark_partition_id()).distinct().count()

    assert partitions(small) == 1
    assert partitions(above_the_limit) > 1  # as Spark packs the four files
    assert sorted(small.collect()) == sorted(above_the_limit.collect()) == sorted(rows.collect())


def _folders(path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def _run_folders(*results) -> list[str]:
    return sorted(f"run_id={r.run_id}" for r in results)


def test_a_corrected_day_rerun_replaces_its_effect(graph, landing):
    write_day(landing, "2026-01-01", roles=[role(1, "first", [10, 11])])
    write_day(landing, "2026-01-02", roles=[role(1, "typo", [10])])
    graph.load(["2026-01-01", "2026-01-02"])
    assert graph.mapping()[(11, 1)][0] == "removed"

    write_day(landing, "2026-01-02", roles=[role(1, "fixed", [10, 11])])
    result = graph.run("2026-01-02")
    assert materialized(result, "roles")["apply_mode"] == "rebuild"
    assert graph.mapping()[(11, 1)] == ("assigned", D(2026, 1, 1), None)
    assert graph.query("SELECT name FROM roles") == [("fixed",)]


def test_checks_catch_corrupted_tables(graph, landing):
    write_day(landing, "2026-01-01", roles=[role(1, agent_ids=[10, 11]), role(2, agent_ids=[20])])
    graph.run("2026-01-01")
    postgres = PostgresResource(database_url=graph.database_url)

    def key_check(*args):
        with postgres.transaction() as cur:
            return checks.key_check(cur, *args)

    def query_check(*args, **kwargs):
        with postgres.transaction() as cur:
            return checks.query_check(cur, *args, **kwargs)

    # Staging keys are enforced per load: the check passes on the index, without a scan ...
    enforced = key_check("stg_roles", ["role_id"], "2026-01-01")
    assert enforced.passed and enforced.metadata["enforced_by"].value == "stg_roles_key"
    # ... and scans once the index and NOT NULL are gone, finding what they would have refused.
    graph.query(
        "DROP INDEX stg_roles_key; ALTER TABLE stg_roles ALTER COLUMN role_id DROP NOT NULL"
    )
    loads = dict(graph.query("SELECT staging_table, load_id FROM staging_loads WHERE staged"))
    graph.query(
        "INSERT INTO stg_roles (role_id, name, sync_day, load_id)"
        " VALUES (2, 'again', '2026-01-01', %(stg_roles)s),"
        " (NULL, 'x', '2026-01-01', %(stg_roles)s)",
        loads,
    )
    graph.query(
        "INSERT INTO stg_agent_roles (agent_id, role_id, sync_day, load_id)"
        " VALUES (30, 3, '2026-01-01', %(stg_agent_roles)s)",
        loads,
    )
    graph.query("UPDATE agent_role_mapping SET removed_at = '2026-01-05' WHERE agent_id = 10")

    keys = key_check("stg_roles", ["role_id"], "2026-01-01")
    assert not keys.passed
    assert (keys.metadata["null_keys"].value, keys.metadata["duplicate_keys"].value) == (1, 1)
    assert keys.metadata["sample_duplicates"].value == [{"role_id": 2}]
    orphans = query_check(
        "unreferenced_staged_roles.sql", "unreferenced_pairs", sync_day="2026-01-01"
    )
    assert not orphans.passed and orphans.metadata["sample"].value == [[30, 3]]
    status = query_check("inconsistent_mapping_status.sql", "inconsistent_rows", sync_day=None)
    assert not status.passed and status.metadata["sample"].value == [[10, 1, "assigned"]]

    # The final tables' primary keys make their key checks pass without a scan, until one is gone.
    enforced = key_check("agent_role_mapping", ["agent_id", "role_id"])
    assert enforced.passed and enforced.metadata["enforced_by"].value == "agent_role_mapping_pkey"
    graph.query("ALTER TABLE agent_role_mapping DROP CONSTRAINT agent_role_mapping_pkey")
    graph.query(
        "INSERT INTO agent_role_mapping SELECT * FROM agent_role_mapping WHERE agent_id = 20"
    )
    scanned = key_check("agent_role_mapping", ["agent_id", "role_id"])
    assert not scanned.passed and "enforced_by" not in scanned.metadata
    assert scanned.metadata["sample_duplicates"].value == [{"agent_id": 20, "role_id": 2}]


# A role whose agent_ids is damaged (not a list, or an entry that is not an id) keeps every pair
# it held that day; its readable entries still assign and re-assign. Day 3 damages each role's
# list its own way.
DAMAGED_LISTS = {
    1: "111,113",  # not a list
    2: [111, 113, "x"],  # a string entry
    3: [111, 113, {"id": 112}],  # an object entry
}


def test_a_damaged_role_list_removes_nothing_on_either_apply_path(graph, landing):
    ids = list(DAMAGED_LISTS)
    write_day(
        landing, "2026-01-01", roles=[*(role(r, agent_ids=[111, 112, 113]) for r in ids), TEAM]
    )
    write_day(landing, "2026-01-02", roles=[*(role(r, agent_ids=[111, 112]) for r in ids), TEAM])
    damaged = [{**role(r), "agent_ids": agent_ids} for r, agent_ids in DAMAGED_LISTS.items()]
    write_day(landing, "2026-01-03", roles=[*damaged, TEAM])
    expected = {
        # Nothing of the list is readable: the pairs stay as they were.
        1: {
            (111, 1): ("assigned", D(2026, 1, 1), None),
            (112, 1): ("assigned", D(2026, 1, 1), None),
            (113, 1): ("removed", D(2026, 1, 1), D(2026, 1, 2)),
        },
        # 113 is re-assigned by a readable entry; 112, no longer listed, is not removed.
        **{
            r: {
                (111, r): ("assigned", D(2026, 1, 1), None),
                (112, r): ("assigned", D(2026, 1, 1), None),
                (113, r): ("assigned", D(2026, 1, 3), None),
            }
            for r in (2, 3)
        },
    }

    graph.load(["2026-01-01", "2026-01-02"])
    result = graph.run("2026-01-03")
    assert materialized(result, "roles")["apply_mode"] == "incremental"
    assert _pairs_by_role(graph, ids) == expected
    assert graph.query(
        "SELECT role_id, error_type, field FROM role_pipeline_errors"
        " WHERE sync_day = '2026-01-03' ORDER BY role_id"
    ) == [
        (1, "INVALID_VALUE", "agent_ids"),
        (2, "INVALID_AGENT_ID", "agent_ids"),
        (3, "INVALID_AGENT_ID", "agent_ids"),
    ]

    # A re-run replays every applied day in SQL: the same rule, the same tables.
    replay = graph.run("2026-01-02")
    assert materialized(replay, "roles")["apply_mode"] == "rebuild"
    assert _pairs_by_role(graph, ids) == expected


def test_a_role_without_agent_ids_asserts_no_pairs_of_its_own(graph, landing):
    """Real Freshdesk roles carry no agent_ids: the agents' files then say who holds the role.
    On day 2, role 1 has no agent_ids key and role 2 an empty list."""
    write_day(
        landing,
        "2026-01-01",
        roles=[role(1, agent_ids=[111, 112]), role(2, agent_ids=[111, 112]), TEAM],
        agents=[{"id": 112, "role_ids": [1, 2]}],
    )
    without_key = role(1)
    del without_key["agent_ids"]
    write_day(
        landing,
        "2026-01-02",
        roles=[without_key, role(2, agent_ids=[]), TEAM],
        agents=[{"id": 112, "role_ids": [1, 2]}],
    )
    expected = {
        r: {
            (111, r): ("removed", D(2026, 1, 1), D(2026, 1, 2)),
            (112, r): ("assigned", D(2026, 1, 1), None),
        }
        for r in (1, 2)
    }
    graph.load(["2026-01-01", "2026-01-02"])
    assert _pairs_by_role(graph, (1, 2)) == expected
    assert graph.query("SELECT count(*) FROM role_pipeline_errors") == [(0,)]
    graph.run("2026-01-01")  # a re-run: the replay path
    assert _pairs_by_role(graph, (1, 2)) == expected


def _pairs_by_role(graph, role_ids) -> dict:
    """Each of ``role_ids`` with its mapping rows."""
    mapping = graph.mapping()
    return {r: {pair: state for pair, state in mapping.items() if pair[1] == r} for r in role_ids}
