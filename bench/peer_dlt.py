"""The peer a user would pick instead: dlt, merging the same records by primary key.

dlt keeps no removal status; it only upserts the roles and the (agent, role) pairs it sees.
The benchmark runs it as a script, `python -m bench.peer_dlt DATABASE_URL DAY_DIR PIPELINES_DIR`,
as a user would, so its figures include the process start and imports, like the graph's CLI runs.
"""

import sys
from pathlib import Path
from urllib.parse import urlsplit

import dlt

from bench.floor import records as _records


def load_day(database_url: str, day_dir: Path, pipelines_dir: Path) -> None:
    @dlt.resource(name="roles", primary_key="role_id", write_disposition="merge")
    def roles():
        for record in _records(day_dir):
            yield {k: v for k, v in record.items() if k != "agent_ids"} | {
                "role_id": int(record["id"])
            }

    @dlt.resource(
        name="agent_role_mapping", primary_key=("agent_id", "role_id"), write_disposition="merge"
    )
    def assignments():
        for record in _records(day_dir):
            for agent in record.get("agent_ids") or []:
                yield {"agent_id": int(agent), "role_id": int(record["id"]), "status": "assigned"}

    parts = urlsplit(database_url)
    pipeline = dlt.pipeline(
        pipeline_name="roles_bench",
        pipelines_dir=str(pipelines_dir),
        destination=dlt.destinations.postgres(credentials=database_url),
        dataset_name=f"dlt_{parts.path.strip('/')}",
    )
    pipeline.run([roles(), assignments()])


if __name__ == "__main__":
    load_day(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
