"""The physical floor: plain Python parse, COPY into new staging loads, the same set-based
apply (sql/apply_day_*.sql). No Spark, no Dagster, and only the checks a load cannot skip."""

import io
import json
from pathlib import Path

from psycopg2 import sql

from roles_assets.landing import day_files, sync_time
from roles_assets.resources.postgres import PostgresResource
from roles_assets.warehouse.apply import apply_day
from roles_assets.warehouse.staging import create_load, stage_load


def _copy(cur, table: str, day: str, columns: list[str], rows) -> None:
    load = create_load(cur, table)
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    cur.copy_expert(
        sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(load.name), sql.SQL(", ").join(map(sql.Identifier, columns))
        ),
        buffer,
    )
    stage_load(cur, load, day)


def records(day_dir: Path):
    """The day's role records, file by file, in any of the three file shapes."""
    for landed in day_files(day_dir):
        content = json.loads(landed.path.read_text())
        yield from content if isinstance(content, list) else content.get("roles", [content])


def load_day(postgres: PostgresResource, day_dir: Path) -> None:
    day = day_dir.name
    roles, pairs = {}, set()
    for record in records(day_dir):
        role_id = int(record["id"])
        roles[role_id] = record
        pairs.update((int(agent), role_id) for agent in record.get("agent_ids") or [])
    with postgres.transaction() as cur:
        _copy(
            cur,
            "stg_roles",
            day,
            [
                "role_id",
                "name",
                "description",
                "is_default",
                "agent_type",
                "created_at",
                "updated_at",
                "sync_day",
            ],
            (
                (
                    r,
                    rec["name"].replace("\t", " "),
                    rec.get("description"),
                    rec.get("default"),
                    rec.get("agent_type"),
                    rec.get("created_at"),
                    rec.get("updated_at"),
                    day,
                )
                for r, rec in roles.items()
            ),
        )
        _copy(
            cur,
            "stg_agent_roles",
            day,
            ["agent_id", "role_id", "status", "sync_day"],
            ((a, r, "assigned", day) for a, r in pairs),
        )
        _copy(cur, "role_pipeline_errors", day, ["sync_day", "error_type", "error_message"], [])
    apply_day(postgres, day, sync_time(day_dir), allow_mass_removal=True)
