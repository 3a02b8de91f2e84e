"""The validation, dedup and assignment rules, on a real Spark (the suite's Spark Connect server),
without Dagster."""

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from functools import reduce

import pytest
from pyspark.sql import Row
from pyspark.sql import functions as F

from roles_assets.transforms.parse import FILES_SCHEMA, parse_records
from roles_assets.transforms.stage import StagedDays, stage_days
from roles_assets_tests.helpers import role

pytestmark = pytest.mark.fast


@dataclass(frozen=True)
class Staged:
    """Staged rows: the three outputs of ``stage_days``, collected."""

    roles: list[Row]
    agent_roles: list[Row]
    errors: list[Row]


def raw_days(spark, days: dict[str, dict[str, object]]):
    """In-memory files as days' raw records: ``{day: {"admin_roles/x.json": records or raw text
    or bytes}}``."""
    rows = []
    for day, files in days.items():
        for name, content in files.items():
            if isinstance(content, str):
                content = content.encode()
            elif not isinstance(content, bytes):
                content = json.dumps(content, ensure_ascii=False).encode()
            rows.append((day, name.split("/")[0], name, bytearray(content)))
    return parse_records(spark.createDataFrame(rows, FILES_SCHEMA))


# Every case of this module is staged in one Spark pass, each as a sync day of its own, as a
# range run stages its days: test_days_staged_together_stage_each_as_if_alone shows that a day
# staged with others is staged as if alone. A case is its landed files; its name is its day.
CASES: dict[str, dict[str, object]] = {}


def case(name: str, files: dict[str, object]) -> str:
    """Registers ``files`` as the case (the day) ``name``, staged with every other case."""
    assert name not in CASES, name
    CASES[name] = files
    return name


@pytest.fixture(scope="module")
def stagings(spark) -> dict[str, Staged]:
    """Each case's staged rows, by its name."""
    every = collected(stage_days(raw_days(spark, CASES)))
    names = [field.name for field in dataclasses.fields(Staged)]
    by_case = {name: Staged([], [], []) for name in CASES}
    for output in names:
        for row in getattr(every, output):
            getattr(by_case[row["sync_day"]], output).append(row)
    return by_case


def collected(day: StagedDays) -> Staged:
    """The three outputs from one Spark action (each a struct column of one union): a case
    pays for one plan and its jobs, not three."""
    names = [field.name for field in dataclasses.fields(Staged)]
    tagged = [getattr(day, name).select(F.struct("*").alias(name)) for name in names]
    rows = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), tagged).collect()
    return Staged(*([row[name] for row in rows if row[name] is not None] for name in names))


def roles_of(staged) -> dict[int, dict]:
    return {r["role_id"]: r.asDict() for r in staged.roles}


def pairs_of(staged) -> set[tuple[int, int]]:
    return {(r["agent_id"], r["role_id"]) for r in staged.agent_roles}


def errors_of(staged) -> list[tuple]:
    return sorted(
        (r["error_type"], r["role_id"], r["agent_id"], r["source_file"]) for r in staged.errors
    )


THREE_SHAPES = case(
    "three file shapes",
    {
        "admin_roles/1_array.json": json.dumps([role(1, agent_ids=[10])], indent=2),
        "admin_roles/2_wrapped.json": {"roles": [role(2, agent_ids=[20])]},
        "admin_roles/3_single.json": role(3, agent_ids=[30]),
    },
)


def test_three_file_shapes_pretty_or_compact(stagings):
    staged = stagings[THREE_SHAPES]
    assert set(roles_of(staged)) == {1, 2, 3}
    assert pairs_of(staged) == {(10, 1), (20, 2), (30, 3)}
    assert errors_of(staged) == []


TYPED = case(
    "typed values",
    {
        "admin_roles/r.json": [
            role(
                7,
                name="Support — 東京 ✓",
                description="ünïcödé",
                default=True,
                agent_type=2,
                created_at="2026-03-01T10:00:00+02:00",
                updated_at="2026-11-24T08:15:00Z",
            )
        ]
    },
)


def test_values_are_typed_and_timestamps_are_utc(stagings):
    row = roles_of(stagings[TYPED])[7]
    assert row["name"] == "Support — 東京 ✓"
    assert row["description"] == "ünïcödé"
    assert row["is_default"] is True and row["agent_type"] == 2
    assert row["created_at"] == dt.datetime(2026, 3, 1, 8, 0)
    assert row["updated_at"] == dt.datetime(2026, 11, 24, 8, 15)
    assert row["source"] == "admin_roles/r.json"


BIG, LARGEST = 2**53 + 1, 2**63 - 1
BIG_IDS = case(
    "big ids",
    {
        "admin_roles/r.json": [
            role(BIG, agent_ids=[BIG + 2, str(LARGEST)]),
            role(str(LARGEST - 1), agent_ids=["12"]),
        ]
    },
)


def test_ids_as_digit_strings_and_beyond_two_to_the_53_are_exact(stagings):
    staged = stagings[BIG_IDS]
    assert set(roles_of(staged)) == {BIG, LARGEST - 1}
    assert pairs_of(staged) == {(BIG + 2, BIG), (LARGEST, BIG), (12, LARGEST - 1)}


BAD_ROLE_IDS = [
    (None, "MISSING_ROLE_ID"),
    (0, "INVALID_ROLE_ID"),
    (-5, "INVALID_ROLE_ID"),
    (3.5, "INVALID_ROLE_ID"),
    (12.0, "INVALID_ROLE_ID"),
    (2**63, "INVALID_ROLE_ID"),
    ("12a", "INVALID_ROLE_ID"),
    (True, "INVALID_ROLE_ID"),
    ([1], "INVALID_ROLE_ID"),
]


def _bad_role_id(bad_id: object) -> str:
    """The case of a record with role id ``bad_id`` (``None``: no id key) beside a good one."""
    record = role(bad_id, agent_ids=[10])
    if bad_id is None:
        del record["id"]
    return case(f"role id {bad_id!r}", {"admin_roles/r.json": [record, role(2, agent_ids=[20])]})


@pytest.mark.parametrize(
    "day, error_type", [(_bad_role_id(bad_id), error_type) for bad_id, error_type in BAD_ROLE_IDS]
)
def test_bad_role_ids_reject_the_record_and_its_agents(stagings, day, error_type):
    staged = stagings[day]
    assert set(roles_of(staged)) == {2}
    assert pairs_of(staged) == {(20, 2)}
    assert errors_of(staged) == [(error_type, None, None, "admin_roles/r.json")]
    (error,) = staged.errors
    assert json.loads(error["raw_record"])["agent_ids"] == [10]


BAD_NAMES = [None, "", "   ", 5]


@pytest.mark.parametrize(
    "day",
    [
        case(f"name {name!r}", {"admin_roles/r.json": [role(1, name=name, agent_ids=[10])]})
        for name in BAD_NAMES
    ],
)
def test_missing_or_blank_names_reject_the_record(stagings, day):
    staged = stagings[day]
    assert roles_of(staged) == {}
    assert pairs_of(staged) == set()
    assert errors_of(staged) == [("MISSING_NAME", 1, None, "admin_roles/r.json")]


_nameless = role(1, agent_ids=[10])
del _nameless["name"]
NO_NAME_KEY = case("no name key", {"admin_roles/r.json": [_nameless, role(2)]})


def test_an_absent_name_key_rejects_the_record_saying_so(stagings):
    staged = stagings[NO_NAME_KEY]
    assert set(roles_of(staged)) == {2}
    (error,) = staged.errors
    assert (error["error_type"], error["field"], error["error_message"]) == (
        "MISSING_NAME",
        "name",
        "name is missing",
    )


BAD_UPDATED_AT = ["yesterday", 20260101, True]


def _bad_updated_at(updated_at: object) -> tuple[str, str]:
    """Two cases: a record with ``updated_at`` beside a good duplicate of it, and alone."""
    beside = [
        role(1, name="bad time", updated_at=updated_at),
        role(1, name="good", updated_at="2020-01-01T00:00:00Z"),
    ]
    return (
        case(f"updated_at {updated_at!r} beside a good one", {"admin_roles/r.json": beside}),
        case(
            f"updated_at {updated_at!r}", {"admin_roles/r.json": [role(1, updated_at=updated_at)]}
        ),
    )


@pytest.mark.parametrize(
    "beside_day, alone_day", [_bad_updated_at(value) for value in BAD_UPDATED_AT]
)
def test_a_bad_updated_at_is_an_invalid_value_and_ranks_last(stagings, beside_day, alone_day):
    staged = stagings[beside_day]
    assert roles_of(staged)[1]["name"] == "good"  # a duplicate without a usable time loses
    assert [e[0] for e in errors_of(staged)] == ["DUPLICATE_ROLE"]
    alone = stagings[alone_day]
    assert roles_of(alone)[1]["updated_at"] is None
    (error,) = alone.errors
    assert (error["error_type"], error["field"]) == ("INVALID_VALUE", "updated_at")
    assert error["error_message"].startswith("updated_at is not an ISO-8601 timestamp: ")


TWO_PROBLEMS = case("two problems", {"admin_roles/r.json": [role(-1, name=" ")]})


def test_a_record_with_two_problems_gets_two_rows(stagings):
    staged = stagings[TWO_PROBLEMS]
    assert [e[0] for e in errors_of(staged)] == ["INVALID_ROLE_ID", "MISSING_NAME"]


LATEST_WINS = case(
    "latest wins",
    {
        "admin_roles/a.json": [
            role(1, name="old", updated_at="2026-01-01T00:00:00Z", agent_ids=[10])
        ],
        "admin_roles/b.json": [
            role(1, name="new", updated_at="2026-02-01T00:00:00Z", agent_ids=[20])
        ],
    },
)


def test_duplicates_latest_updated_at_wins(stagings):
    staged = stagings[LATEST_WINS]
    assert roles_of(staged)[1]["name"] == "new"
    assert pairs_of(staged) == {(20, 1)}
    assert errors_of(staged) == [("DUPLICATE_ROLE", 1, None, "admin_roles/a.json")]
    (loser,) = staged.errors
    assert json.loads(loser["raw_record"])["name"] == "old"


_same = "2026-01-01T00:00:00Z"
TIE = case(
    "tie",
    {
        "admin_roles/b.json": [role(1, name="b0", updated_at=_same)],
        "admin_roles/a.json": [
            role(1, name="a0", updated_at=_same),
            role(1, name="a1", updated_at=_same),
        ],
    },
)


def test_duplicates_tie_goes_to_the_first_in_file_then_position_order(stagings):
    staged = stagings[TIE]
    assert roles_of(staged)[1]["name"] == "a0"
    loser_names = sorted(json.loads(e["raw_record"])["name"] for e in staged.errors)
    assert loser_names == ["a1", "b0"]
    assert {e["error_type"] for e in staged.errors} == {"DUPLICATE_ROLE"}


INVALID_OPTIONALS = case(
    "invalid optional values",
    {
        "admin_roles/r.json": [
            role(
                1,
                agent_type="one",
                created_at="not-a-timestamp",
                default="yes",
                description={"x": 1},
            )
        ]
    },
)


def test_invalid_optional_values_become_null_with_one_row_each(stagings):
    staged = stagings[INVALID_OPTIONALS]
    row = roles_of(staged)[1]
    assert (row["agent_type"], row["created_at"], row["is_default"], row["description"]) == (
        None,
    ) * 4
    messages = sorted(e["error_message"] for e in staged.errors)
    assert [m.split(" ")[0] for m in messages] == [
        "agent_type",
        "created_at",
        "default",
        "description",
    ]
    assert {e[0] for e in errors_of(staged)} == {"INVALID_VALUE"}


AS_STRINGS = case(
    "values as strings", {"admin_roles/r.json": [role(1, default="TRUE", agent_type="3")]}
)


def test_booleans_and_integers_as_strings_are_accepted(stagings):
    staged = stagings[AS_STRINGS]
    row = roles_of(staged)[1]
    assert (row["is_default"], row["agent_type"]) == (True, 3)
    assert errors_of(staged) == []


BAD_AGENT_ENTRIES = case(
    "bad agent id entries", {"admin_roles/r.json": [role(1, agent_ids=[10, None, "x", -3, 11])]}
)


def test_bad_agent_id_entries_are_reported_and_the_rest_kept(stagings):
    staged = stagings[BAD_AGENT_ENTRIES]
    assert pairs_of(staged) == {(10, 1), (11, 1)}
    assert [e[:3] for e in errors_of(staged)] == [
        ("INVALID_AGENT_ID", 1, None),
        ("INVALID_AGENT_ID", 1, None),
        ("MISSING_AGENT_ID", 1, None),
    ]


EVERY_FIELD = case(
    "every error's field",
    {
        "admin_roles/r.json": [
            role(1, agent_ids=[10, None, "x", 1.5, True, {"id": 2}, [3], 2**64]),
            {**role(2, description=7), "agent_ids": "10,11"},
            role(3, name=" "),
            role(-4),
            role(5),
            role(5),
        ],
        "admin_roles/zz.json": "{",
        "agent_details/a.json": {"id": 10, "role_ids": [1, 99]},
        "agent_details/b.json": {"id": 11, "role_ids": "1"},
        "agent_details/c.json": {"id": "x", "role_ids": [1]},
    },
)


def test_each_error_names_the_field_it_is_about(stagings):
    """A damaged agent_ids list (its field is ``agent_ids``) protects the role's pairs from
    removal; other problems of a kept role (a bad description) do not."""
    staged = stagings[EVERY_FIELD]
    fields = sorted(((e["error_type"], e["role_id"], e["field"]) for e in staged.errors), key=str)
    assert fields == sorted(
        [
            *[("INVALID_AGENT_ID", 1, "agent_ids")] * 6,
            ("MISSING_AGENT_ID", 1, "agent_ids"),
            ("INVALID_VALUE", 2, "agent_ids"),
            ("INVALID_VALUE", 2, "description"),
            ("MISSING_NAME", 3, "name"),
            ("INVALID_ROLE_ID", None, "id"),
            ("DUPLICATE_ROLE", 5, None),
            ("MALFORMED_JSON", None, None),
            ("UNKNOWN_ROLE", 99, "role_ids"),
            ("INVALID_ROLE_IDS", None, "role_ids"),
            ("INVALID_AGENT_ID", None, "id"),
        ],
        key=str,
    )
    assert pairs_of(staged) == {(10, 1)}


AGENT_FILES = case(
    "agent files",
    {
        "admin_roles/r.json": [role(1, agent_ids=[10]), role(2)],
        "agent_details/10.json": {"id": 10, "role_ids": [1, 2, 99]},
        "agent_details/11.json": {"id": "11", "role_ids": ["2"]},
    },
)


def test_agent_files_add_assignments_and_unknown_roles_are_reported(stagings):
    staged = stagings[AGENT_FILES]
    assert pairs_of(staged) == {(10, 1), (10, 2), (11, 2)}
    assert errors_of(staged) == [("UNKNOWN_ROLE", 99, 10, "agent_details/10.json")]


PAIRS_ONCE = case(
    "each pair once",
    {
        "admin_roles/r.json": [
            role(1, agent_ids=[10, "10", 12, 10], updated_at="2026-01-02T00:00:00Z"),
            role(2, updated_at="2026-01-09T00:00:00Z"),
        ],
        "agent_details/10.json": {
            "id": 10,
            "role_ids": [1, 1, 2],
            "updated_at": "2026-01-03T00:00:00Z",
        },
        "agent_details/11.json": {
            "id": 11,
            "role_ids": [1],
            "updated_at": "2026-01-01T00:00:00Z",
        },
        "agent_details/12.json": {
            "id": 12,
            "role_ids": [1],
            "updated_at": "2025-01-01T00:00:00Z",
        },
    },
)


def test_each_pair_once_with_the_latest_updated_at_of_its_sources(stagings):
    staged = stagings[PAIRS_ONCE]
    rows = sorted((r.agent_id, r.role_id, r.updated_at) for r in staged.agent_roles)
    assert rows == [
        (10, 1, dt.datetime(2026, 1, 3)),  # both sides: the agent's later updated_at
        (10, 2, dt.datetime(2026, 1, 3)),  # only the agent names it: not the role's own time
        (11, 1, dt.datetime(2026, 1, 1)),
        (12, 1, dt.datetime(2026, 1, 2)),  # both sides: the role's later updated_at
    ]
    assert errors_of(staged) == []


BAD_ROLE_ID_LISTS = ["1", [1, "x"], None, {"a": 1}]


def _bad_role_id_list(role_ids: object) -> str:
    """The case of agent 10 with ``role_ids`` (``None``: no such key)."""
    agent = {"id": 10, "role_ids": role_ids}
    if role_ids is None:
        del agent["role_ids"]
    files = {"admin_roles/r.json": [role(1)], "agent_details/10.json": agent}
    return case(f"role_ids {role_ids!r}", files)


@pytest.mark.parametrize("day", [_bad_role_id_list(role_ids) for role_ids in BAD_ROLE_ID_LISTS])
def test_agent_with_bad_role_ids_is_rejected(stagings, day):
    staged = stagings[day]
    assert pairs_of(staged) == set()
    assert errors_of(staged) == [("INVALID_ROLE_IDS", None, 10, "agent_details/10.json")]


BAD_AGENT_IDS = [(None, "MISSING_AGENT_ID"), (1.5, "INVALID_AGENT_ID")]


@pytest.mark.parametrize(
    "day, error_type",
    [
        (
            case(
                f"agent id {bad_id!r}",
                {
                    "admin_roles/r.json": [role(1)],
                    "agent_details/x.json": {"id": bad_id, "role_ids": [1]},
                },
            ),
            error_type,
        )
        for bad_id, error_type in BAD_AGENT_IDS
    ],
)
def test_agent_with_bad_id_is_rejected(stagings, day, error_type):
    staged = stagings[day]
    assert pairs_of(staged) == set()
    assert errors_of(staged) == [(error_type, None, None, "agent_details/x.json")]


UNREADABLE = [
    ('[{"id": 1, "name": "x"', "not valid JSON"),
    ("", "empty"),
    ("  \n ", "empty"),
    (b'[{"id": 1, "name": "\xff\xfe"}]', "not valid UTF-8"),
    ("42", "top level"),
]


@pytest.mark.parametrize(
    "day, reason",
    [
        (
            case(
                f"unreadable {content!r}",
                {"admin_roles/bad.json": content, "admin_roles/good.json": [role(1)]},
            ),
            reason,
        )
        for content, reason in UNREADABLE
    ],
)
def test_unreadable_files_are_malformed_and_kept(stagings, day, reason):
    staged = stagings[day]
    assert set(roles_of(staged)) == {1}
    (error,) = staged.errors
    assert error["error_type"] == "MALFORMED_JSON"
    assert reason in error["error_message"]
    assert "file_text" in json.loads(error["raw_record"])


BOM = case("utf-8 bom", {"admin_roles/r.json": "\ufeff" + json.dumps([role(1)])})


def test_a_utf8_bom_is_tolerated(stagings):
    staged = stagings[BOM]
    assert set(roles_of(staged)) == {1}
    assert errors_of(staged) == []


def test_raw_records_validate_the_same_after_the_parquet_round_trip(spark, tmp_path):
    """raw_roles is kept as Parquet; mixed value types in one file must come back unchanged."""
    records = [
        role(1, agent_ids=[2**64, 10]),
        role(12.0),
        role(2**63),
        role(3, agent_ids=["11", 1.5]),
    ]
    rows = [("d", "admin_roles", "admin_roles/r.json", bytearray(json.dumps(records).encode()))]
    raw = parse_records(spark.createDataFrame(rows, FILES_SCHEMA))
    raw.write.parquet(str(tmp_path / "raw"))
    direct, round_trip = (
        collected(stage_days(raw)),
        collected(stage_days(spark.read.parquet(str(tmp_path / "raw")))),
    )
    assert pairs_of(round_trip) == pairs_of(direct) == {(10, 1), (11, 3)}
    assert errors_of(round_trip) == errors_of(direct)
    assert [e[0] for e in errors_of(direct)] == [
        "INVALID_AGENT_ID",
        "INVALID_AGENT_ID",
        "INVALID_ROLE_ID",
        "INVALID_ROLE_ID",
    ]


def test_days_staged_together_stage_each_as_if_alone(spark):
    """A range run validates its days in one pass: no rule may reach across days (a duplicate id,
    an agent naming a role, a role's agents are matters of one day)."""
    days = {
        "d1": {
            "admin_roles/r.json": [
                role(1, "old", agent_ids=[10], updated_at="2026-01-01T00:00:00Z"),
                role(1, "older", updated_at="2025-01-01T00:00:00Z"),
                role(2, agent_ids=[11, "x"]),
            ],
            "agent_details/12.json": {"id": 12, "role_ids": [1, 3]},
            "admin_roles/bad.json": "{not json",
        },
        "d2": {
            "admin_roles/r.json": [
                role(1, "new", agent_ids=[11], updated_at="2026-01-02T00:00:00Z"),
                role(3, agent_ids=[10]),
            ],
            "agent_details/12.json": {"id": 12, "role_ids": [2, 3]},
        },
    }
    together = collected(stage_days(raw_days(spark, days)))
    alone = [collected(stage_days(raw_days(spark, {day: files}))) for day, files in days.items()]

    def by_day(rows, day):
        return sorted(
            (repr(sorted(r.asDict().items())) for r in rows if r["sync_day"] == day), key=str
        )

    for day, staged in zip(days, alone, strict=True):
        for output in ("roles", "agent_roles", "errors"):
            assert by_day(getattr(together, output), day) == by_day(getattr(staged, output), day)
            assert by_day(getattr(staged, output), day)  # every output has rows of the day
    assert pairs_of(alone[0]) == {(10, 1), (11, 2), (12, 1)}  # role 3 is unknown on d1
    assert pairs_of(alone[1]) == {(11, 1), (10, 3), (12, 3)}  # role 2 is unknown on d2
