"""An independent model of the final tables' rules, and the staging it is checked against.

The model replays applied days one by one in natural order, which is the contract's definition
of the final tables and their histories, and predicts which loads the mass-removal guard
refuses. ``stage`` writes a model day straight into PostgreSQL with the staging IO manager's
own steps (no Spark), so property tests can try many histories quickly.
"""

import dataclasses
import datetime as dt
from dataclasses import dataclass

from hypothesis import strategies as st
from psycopg2.extras import execute_values

from roles_assets.days import day_order
from roles_assets.resources.postgres import PostgresResource
from roles_assets.warehouse.staging import create_load, stage_load

ROLE_IDS = [1, 2, 3, 2**53 + 1]


AGENT_IDS = [10, 11, 12]


DAY_NUMBERS = [1, 2, 9, 10, 11, 100]  # day9 < day10 only in natural order


MAX_REMOVAL_SHARE = 0.5


# Error rows that protect nothing: (error_type, field, names a role, names an agent).
NOISE = [
    ("UNKNOWN_ROLE", "role_ids", True, True),
    ("INVALID_AGENT_ID", "id", False, False),
    ("MISSING_AGENT_ID", "id", False, False),
]


# A damaged agent_ids list, as its error rows say it: not a list, or a bad entry.
DAMAGE = [
    ("INVALID_VALUE", "agent_ids"),
    ("INVALID_AGENT_ID", "agent_ids"),
    ("MISSING_AGENT_ID", "agent_ids"),
]


# A role's attributes in the order of ATTRIBUTES; each but the name can arrive malformed, under
# its record's field name (INVALID_VALUE's field), and is then staged NULL.
ATTRIBUTES = ("name", "description", "is_default", "agent_type", "created_at", "updated_at")
MALFORMABLE = ("description", "default", "agent_type", "created_at", "updated_at")


@dataclass(frozen=True)
class Day:
    """A staged day; with no error fields given, a clean one."""

    roles: dict[int, tuple]  # the valid roles' ATTRIBUTES, as the records hold them
    pairs: frozenset[tuple[int, int]]
    complete: bool
    synced_at: dt.datetime
    # per valid role, its MALFORMABLE fields that were bad
    malformed: dict[int, frozenset[str]] = dataclasses.field(default_factory=dict)
    # a rejected record: MISSING_NAME, or DUPLICATE_ROLE if valid
    rejected_roles: frozenset[int] = frozenset()
    # valid roles whose agent_ids is damaged
    damaged_roles: dict[int, tuple[str, str]] = dataclasses.field(default_factory=dict)
    rejected_agents: frozenset[int] = frozenset()  # a rejected agent file: INVALID_ROLE_IDS
    noise: tuple[tuple[str, str, int | None, int | None], ...] = ()

    def error_rows(self, name: str) -> list[tuple]:
        """(sync_day, role_id, agent_id, error_type, field) as the staging would hold them."""
        rows = [
            (name, r, None, "DUPLICATE_ROLE" if r in self.roles else "MISSING_NAME", None)
            for r in self.rejected_roles
        ]
        rows += [
            (name, r, None, error_type, field)
            for r, (error_type, field) in self.damaged_roles.items()
        ]
        rows += [
            (name, r, None, "INVALID_VALUE", field)
            for r, fields in self.malformed.items()
            for field in sorted(fields)
        ]
        rows += [(name, None, a, "INVALID_ROLE_IDS", "role_ids") for a in self.rejected_agents]
        rows += [(name, r, a, error_type, field) for error_type, field, r, a in self.noise]
        rows += [] if self.complete else [(name, None, None, "MALFORMED_JSON", None)]
        return rows

    def staged_roles(self) -> dict[int, tuple]:
        """The valid roles as staging holds them: a malformed value is NULL."""
        return {
            r: tuple(
                None if field in self.malformed.get(r, ()) else value
                for field, value in zip(("name", *MALFORMABLE), attributes, strict=True)
            )
            for r, attributes in self.roles.items()
        }


@st.composite
def days_strategy(draw) -> Day:
    # At least one role: a day without one never reaches the apply (a blocking check stops it).
    # NULLs among the attributes: a version opens only on a real difference.
    attributes = st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from([None, "d"]),
        st.sampled_from([None, True]),
        st.sampled_from([None, 1]),
        st.sampled_from([None, dt.datetime(2025, 1, 1)]),
        st.sampled_from([None, dt.datetime(2025, 6, 1)]),
    )
    roles = draw(st.dictionaries(st.sampled_from(ROLE_IDS), attributes, min_size=1))
    malformed = {
        r: fields
        for r in sorted(roles)
        if (fields := draw(st.frozensets(st.sampled_from(MALFORMABLE), max_size=2)))
    }
    candidates = [(a, r) for a in AGENT_IDS for r in sorted(roles)]
    noise = []
    for error_type, field, names_role, names_agent in draw(
        st.lists(st.sampled_from(NOISE), max_size=3)
    ):
        noise.append(
            (
                error_type,
                field,
                draw(st.sampled_from(ROLE_IDS)) if names_role else None,
                draw(st.sampled_from(AGENT_IDS)) if names_agent else None,
            )
        )
    return Day(
        roles=roles,
        malformed=malformed,
        pairs=draw(st.frozensets(st.sampled_from(candidates))),
        complete=draw(st.booleans()),
        rejected_roles=draw(st.frozensets(st.sampled_from(ROLE_IDS), max_size=3))
        if draw(st.booleans())
        else frozenset(),
        damaged_roles={
            r: draw(st.sampled_from(DAMAGE)) for r in sorted(roles) if draw(st.booleans())
        },
        rejected_agents=draw(st.frozensets(st.sampled_from(AGENT_IDS), max_size=2))
        if draw(st.booleans())
        else frozenset(),
        noise=tuple(noise),
        # Sync times come from the landed data: nothing makes them follow the days' order.
        synced_at=dt.datetime(2026, 1, 1) + dt.timedelta(hours=draw(st.integers(0, 2000))),
    )


@st.composite
def histories(draw) -> list[tuple[str, Day, bool]]:
    """Loads in order: (day, the version staged, allow_mass_removal). Days come in any order,
    some first in a version later corrected (with a new sync time), some again at the end."""
    names = [
        f"day{n}"
        for n in draw(st.lists(st.sampled_from(DAY_NUMBERS), min_size=1, max_size=5, unique=True))
    ]
    final = {name: draw(days_strategy()) for name in names}
    allow = st.booleans()
    loads = []
    for name in draw(st.permutations(names)):
        if draw(st.booleans()):
            loads.append((name, draw(days_strategy()), draw(allow)))
        loads.append((name, final[name], draw(allow)))
    for name in draw(st.lists(st.sampled_from(names), max_size=2)):
        loads.append((name, final[name], draw(allow)))
    return loads


def model(days: dict[str, Day]):
    """The rules, applied one day at a time in natural order: roles (attributes, deleted_at),
    the mapping, and their histories (per pair its intervals, per role its versions, each as
    [opened by day and time, closed by day and time])."""
    roles, mapping, intervals, versions = {}, {}, {}, {}
    for name in sorted(days, key=day_order):
        day = days[name]
        for role, staged in day.staged_roles().items():
            # A malformed value keeps the last good one (None if there is none).
            before = roles.get(role, ((None,) * len(ATTRIBUTES), None))
            kept = tuple(
                before[0][i] if field in day.malformed.get(role, ()) else staged[i]
                for i, field in enumerate(("name", *MALFORMABLE))
            )
            deleted = role in roles and before[1] is not None
            if role not in roles or deleted or before[0] != kept:
                if role in roles and not deleted:
                    versions[role][-1][-2:] = [name, day.synced_at]
                versions.setdefault(role, []).append([*kept, name, day.synced_at, None, None])
            roles[role] = (kept, None)
        for pair in day.pairs:
            if pair not in mapping or mapping[pair][0] == "removed":
                mapping[pair] = ("assigned", day.synced_at, None)
                intervals.setdefault(pair, []).append([name, day.synced_at, None, None])
        if not day.complete:
            continue
        for role, (attributes, deleted_at) in list(roles.items()):
            if deleted_at is None and role not in day.roles and role not in day.rejected_roles:
                roles[role] = (attributes, day.synced_at)
                versions[role][-1][-2:] = [name, day.synced_at]
        protected_roles = day.rejected_roles | set(day.damaged_roles)
        for (agent, role), (status, assigned_at, _) in list(mapping.items()):
            if (
                status == "assigned"
                and (agent, role) not in day.pairs
                and role not in protected_roles
                and agent not in day.rejected_agents
            ):
                mapping[(agent, role)] = ("removed", assigned_at, day.synced_at)
                intervals[(agent, role)][-1][-2:] = [name, day.synced_at]
    roles = {role: (*attributes, deleted_at) for role, (attributes, deleted_at) in roles.items()}
    return roles, mapping, as_tuples(intervals), as_tuples(versions)


def as_tuples(history: dict[object, list[list]]) -> dict[object, list[tuple]]:
    return {key: [tuple(row) for row in rows] for key, rows in history.items()}


def holders_at(days: dict[str, Day], ts: dt.datetime) -> set[tuple[int, int]]:
    """Who held which role once every day up to the last one (in natural order) synced at or
    before ts was applied."""
    synced = [name for name, day in days.items() if day.synced_at <= ts]
    if not synced:
        return set()
    last = day_order(max(synced, key=day_order))
    return assigned({name: day for name, day in days.items() if day_order(name) <= last})


def assigned(days: dict[str, Day]) -> set[tuple[int, int]]:
    return {pair for pair, state in model(days)[1].items() if state[0] == "assigned"}


def live_roles(days: dict[str, Day]) -> set[int]:
    return {role for role, row in model(days)[0].items() if row[-1] is None}


def refused(applied: dict[str, Day], name: str, day: Day, allow: bool) -> bool:
    """What the guard decides: the share of assigned pairs the load would un-assign, and of
    existing roles it would delete."""
    after = {**applied, name: day}
    return not allow and any(
        before and len(before - now) / len(before) > MAX_REMOVAL_SHARE
        for before, now in [
            (assigned(applied), assigned(after)),
            (live_roles(applied), live_roles(after)),
        ]
    )


def stage(postgres: PostgresResource, name: str, day: Day) -> None:
    """Stages a new load of each of the day's staging tables the way the staging IO manager
    does."""
    rows = {
        "stg_roles": (
            f"role_id, {', '.join(ATTRIBUTES)}, sync_day",
            [(r, *attributes, name) for r, attributes in day.staged_roles().items()],
        ),
        "stg_agent_roles": (
            "agent_id, role_id, status, sync_day",
            [(a, r, "assigned", name) for a, r in day.pairs],
        ),
        "role_pipeline_errors": (
            "sync_day, role_id, agent_id, error_type, field, error_message",
            [(*row, "generated") for row in day.error_rows(name)],
        ),
    }
    for table, (columns, values) in rows.items():
        with postgres.transaction() as cur:
            load = create_load(cur, table)
            if values:
                execute_values(cur, f"INSERT INTO {load.name} ({columns}) VALUES %s", values)
        with postgres.transaction() as cur:
            stage_load(cur, load, name)


def warehouse_state(postgres: PostgresResource) -> tuple[dict, ...]:
    """roles (id -> attributes and deleted_at), the mapping (pair -> state), the intervals
    (pair -> list in the days' natural order), the versions (role -> the same) and the applied
    days' sync times."""
    with postgres.transaction() as cur:
        cur.execute(f"SELECT role_id, {', '.join(ATTRIBUTES)}, deleted_at FROM roles")
        roles = {role: tuple(rest) for role, *rest in cur.fetchall()}
        cur.execute(
            "SELECT agent_id, role_id, status, assigned_at, removed_at FROM agent_role_mapping"
        )
        mapping = {(a, r): tuple(rest) for a, r, *rest in cur.fetchall()}
        cur.execute(
            "SELECT agent_id, role_id, assigned_day, assigned_at, removed_day, removed_at"
            " FROM agent_role_history"
        )
        intervals = grouped((((a, r), tuple(rest)) for a, r, *rest in cur.fetchall()), opened_by=0)
        cur.execute(
            f"SELECT role_id, {', '.join(ATTRIBUTES)}, from_day, valid_from, to_day, valid_to"
            " FROM role_history"
        )
        versions = grouped(
            ((role, tuple(rest)) for role, *rest in cur.fetchall()), opened_by=len(ATTRIBUTES)
        )
        cur.execute("SELECT sync_day, synced_at FROM sync_days WHERE applied")
        return roles, mapping, intervals, versions, dict(cur.fetchall())


def grouped(rows, opened_by: int) -> dict[object, list[tuple]]:
    """History rows per key, in the natural order of the day that opened each."""
    history: dict[object, list[tuple]] = {}
    for key, row in rows:
        history.setdefault(key, []).append(row)
    return {
        key: sorted(rows, key=lambda row: day_order(row[opened_by]))
        for key, rows in history.items()
    }


def holders(postgres: PostgresResource, times: set[dt.datetime]) -> dict[dt.datetime, set]:
    """role_holders_at(ts) for each of the times."""
    held = {}
    with postgres.transaction() as cur:
        for ts in times:
            cur.execute("SELECT agent_id, role_id FROM role_holders_at(%s)", (ts,))
            held[ts] = set(cur.fetchall())
    return held
