"""Role attributes through the whole graph (real Spark, real PostgreSQL): a malformed value never
overwrites a good one, a role a complete snapshot no longer holds is deleted, and a source that
changes shape is named. Each rule on both apply paths: days in order (incremental) and in
reverse or re-run (the set-based replay)."""

import dagster as dg
import pytest

from roles_assets_tests.helpers import D, failure_text, materialized, role, write_day

DAY1, DAY2, DAY3, DAY4 = "2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"

GOOD = {
    "description": "Good",
    "default": True,
    "agent_type": 2,
    "created_at": "2025-02-03T04:05:06Z",
    "updated_at": "2026-02-01T00:00:00Z",
}
GOOD_ROW = ("Good", True, 2, D(2025, 2, 3, 4, 5, 6), D(2026, 2, 1))
MALFORMED = {
    "description": 7,
    "default": "maybe",
    "agent_type": "x",
    "created_at": "not a time",
    "updated_at": "later",
}

ROLE_ROW = "SELECT name, description, is_default, agent_type, created_at, updated_at, deleted_at"


def check(result, name: str) -> dg.AssetCheckEvaluation:
    (evaluation,) = [c for c in result.get_asset_check_evaluations() if c.check_name == name]
    return evaluation


def versions(graph, role_id: int) -> list[tuple]:
    return graph.query(
        "SELECT name, description, agent_type, from_day, to_day FROM role_history"
        " WHERE role_id = %s ORDER BY valid_from",
        (role_id,),
    )


@pytest.mark.slow
def test_a_malformed_value_keeps_the_last_good_one_on_both_apply_paths(make_graph, landing):
    write_day(landing, DAY1, roles=[role(1, **GOOD), role(2, description="Two")])
    # Every optional field malformed for role 1; role 2's description JSON null: no value.
    write_day(landing, DAY2, roles=[role(1, **MALFORMED), role(2, description=None)])
    write_day(landing, DAY3, roles=[role(1, name="Renamed", **MALFORMED), role(2)])

    in_order = make_graph()
    in_order.run(DAY1)
    result = in_order.run(DAY2)
    assert materialized(result, "roles")["apply_mode"] == "incremental"
    errors = in_order.query(
        "SELECT field FROM role_pipeline_errors WHERE sync_day = %s AND role_id = 1"
        " AND error_type = 'INVALID_VALUE' ORDER BY field",
        (DAY2,),
    )
    assert [e[0] for e in errors] == sorted(MALFORMED)  # the error rows stay
    assert in_order.query(f"{ROLE_ROW} FROM roles WHERE role_id = 1") == [("Role", *GOOD_ROW, None)]
    assert in_order.query("SELECT description FROM roles WHERE role_id = 2") == [(None,)]
    # Malformed values alone open no version; a real NULL does.
    assert versions(in_order, 1) == [("Role", "Good", 2, DAY1, None)]
    assert versions(in_order, 2) == [
        ("Role", "Two", 1, DAY1, DAY2),
        ("Role", None, 1, DAY2, None),
    ]
    in_order.run(DAY3)
    assert in_order.query(f"{ROLE_ROW} FROM roles WHERE role_id = 1") == [
        ("Renamed", *GOOD_ROW, None)
    ]
    assert versions(in_order, 1) == [
        ("Role", "Good", 2, DAY1, DAY3),
        ("Renamed", "Good", 2, DAY3, None),
    ]
    expected = in_order.final_rows()

    in_order.run(DAY2)  # a re-run: the replay
    assert in_order.final_rows() == expected
    reverse = make_graph()
    for day in [DAY3, DAY2, DAY1]:
        result = reverse.run(day)
    assert materialized(result, "roles")["apply_mode"] == "rebuild"
    assert reverse.final_rows() == expected


@pytest.mark.slow
def test_a_role_gone_from_a_complete_snapshot_is_deleted_on_both_apply_paths(make_graph, landing):
    write_day(
        landing,
        DAY1,
        roles=[role(1, agent_ids=[10]), role(2), role(3, agent_ids=[30]), role(4)],
    )
    write_day(landing, DAY2, roles=[role(1, agent_ids=[10]), role(2), role(4)])  # 3 is gone
    # An unreadable file: a damaged day deletes nothing (4 is absent).
    write_day(
        landing, DAY3, roles=[role(1, agent_ids=[10]), role(2)], files={"admin_roles/x.json": "{"}
    )
    # 2's record is rejected (no name): present, not deleted. 3 comes back; 4 is gone.
    write_day(
        landing,
        DAY4,
        roles=[role(1, agent_ids=[10]), role(2, name=" "), role(3, agent_ids=[30])],
    )

    in_order = make_graph()
    in_order.run(DAY1)
    result = in_order.run(DAY2)
    assert materialized(result, "roles")["deleted_by_this_day"] == 1
    assert in_order.query("SELECT role_id, deleted_at FROM roles WHERE deleted_at IS NOT NULL") == [
        (3, D(2026, 3, 2))
    ]
    assert versions(in_order, 3) == [("Role", "Role description", 1, DAY1, DAY2)]
    assert in_order.mapping()[(30, 3)] == ("removed", D(2026, 3, 1), D(2026, 3, 2))
    result = in_order.run(DAY3)
    (rate,) = [
        c
        for c in result.get_asset_check_evaluations()
        if c.check_name == "role_errors_rejection_rate"
    ]
    assert rate.metadata["malformed_files"].value == 1  # the unreadable file, counted
    assert in_order.query("SELECT role_id FROM roles WHERE deleted_at IS NOT NULL") == [(3,)]
    result = in_order.run(DAY4)
    # The history checks hold with deleted roles (one rejected record of three: the rejection
    # rate warns, as it should).
    failed = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    assert failed == ["role_errors_rejection_rate"]
    assert in_order.query("SELECT role_id, deleted_at FROM roles ORDER BY role_id") == [
        (1, None),
        (2, None),
        (3, None),
        (4, D(2026, 3, 4)),
    ]
    assert versions(in_order, 3) == [
        ("Role", "Role description", 1, DAY1, DAY2),
        ("Role", "Role description", 1, DAY4, None),  # back: a new version, the same values
    ]
    assert versions(in_order, 4) == [("Role", "Role description", 1, DAY1, DAY4)]
    assert in_order.mapping()[(30, 3)] == ("assigned", D(2026, 3, 4), None)
    expected = in_order.final_rows()

    reverse = make_graph()
    for day in [DAY4, DAY3, DAY2, DAY1]:
        reverse.run(day)
    assert reverse.final_rows() == expected


def test_deleting_too_many_roles_is_refused_unless_overridden(graph, landing):
    write_day(landing, DAY1, roles=[role(1), role(2), role(3)])
    write_day(landing, DAY2, roles=[role(1, name="renamed")])
    graph.run(DAY1)
    before = graph.final_rows()

    refused = graph.run(DAY2, raise_on_error=False)
    assert not refused.success
    assert "would delete 2 of 3 roles (67%), more than the allowed 50%" in failure_text(refused)
    assert graph.final_rows() == before
    deletions = check(refused, "roles_deletions_within_limit")
    assert not deletions.passed and deletions.severity == dg.AssetCheckSeverity.ERROR
    figures = {
        k: deletions.metadata[k].value for k in ["deleted", "roles_before", "deletion_share"]
    }
    assert figures == {"deleted": 2, "roles_before": 3, "deletion_share": 2 / 3}
    assert check(refused, "agent_role_mapping_removals_within_limit").passed

    override = {"ops": {"final_tables": {"config": {"allow_mass_removal": True}}}}
    allowed = graph.job.execute_in_process(
        partition_key=DAY2, instance=graph.instance, run_config=override
    )
    assert allowed.success
    deletions = check(allowed, "roles_deletions_within_limit")
    assert not deletions.passed and deletions.severity == dg.AssetCheckSeverity.WARN
    assert graph.query("SELECT role_id, name, deleted_at FROM roles ORDER BY role_id") == [
        (1, "renamed", None),
        (2, "Role", D(2026, 3, 2)),
        (3, "Role", D(2026, 3, 2)),
    ]


def test_a_retyped_field_fails_the_drift_check_and_a_new_field_is_named(graph, landing):
    write_day(
        landing,
        DAY1,
        roles=[role(r, agent_type=1) for r in (1, 2, 3)],
        agents=[{"id": 10, "role_ids": [1]}],
    )
    # The source now sends agent_type as text for every record, and a field never seen before.
    write_day(
        landing,
        DAY2,
        roles=[role(r, agent_type="support", team="blue") for r in (1, 2, 3)],
        agents=[{"id": 10, "role_ids": [1], "ticket_scope": 2}],
    )
    first = graph.run(DAY1)
    assert check(first, "role_errors_no_source_drift").passed
    baseline = check(first, "stg_roles_no_new_source_fields")  # nothing to compare with yet
    assert baseline.passed and baseline.metadata["compared"].value is False
    assert materialized(first, "stg_roles")["source_fields"] == {
        "admin_roles": sorted(role(1)),
        "agent_details": ["id", "role_ids"],
    }

    result = graph.run(DAY2)
    assert result.success  # a warning: the day still loads
    drift = check(result, "role_errors_no_source_drift")
    assert not drift.passed and drift.severity == dg.AssetCheckSeverity.WARN
    assert drift.metadata["field"].value == "agent_type"
    assert drift.metadata["malformed_share"].value == {"agent_type": 1.0}
    assert drift.metadata["malformed_records"].value == 3
    assert [s["role_id"] for s in drift.metadata["sample"].value] == [1, 2, 3]
    assert "agent_type" in drift.description
    # The event log holds the failed evaluation, as the UI shows it.
    (record,) = graph.instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("role_errors"), "role_errors_no_source_drift"), limit=1
    )
    assert (record.partition, record.status.value) == (DAY2, "FAILED")
    assert graph.query("SELECT DISTINCT agent_type FROM roles") == [(1,)]

    new_fields = check(result, "stg_roles_no_new_source_fields")
    assert not new_fields.passed and new_fields.severity == dg.AssetCheckSeverity.WARN
    assert new_fields.metadata["new_fields"].value == [
        f"new field `team` in admin_roles since day {DAY2}",
        f"new field `ticket_scope` in agent_details since day {DAY2}",
    ]
