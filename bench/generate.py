"""Seeded synthetic landing data in the real input shape.

- a large day: ``roles`` roles with 10 ``agent_ids`` each, split over 20 files (a small team's
  day: one file per page of the API's 100 records);
- a history of ``days`` days in which 5% of the roles change each day: a new name and
  ``updated_at``, and one agent swapped for another (an assignment removed, one added).
"""

import datetime as dt
import json
import random
from pathlib import Path

AGENTS_PER_ROLE = 10
FILES_PER_DAY = 20
PAGE_SIZE = 100  # Freshdesk's largest page: a small team's day lands as one file a page
CHURN = 0.05


def _role(role_id: int, version: int, agents: list[int], updated: dt.datetime) -> dict:
    return {
        "id": 67_000_000_000 + role_id,
        "name": f"Role {role_id} v{version}",
        "description": f"Synthetic role {role_id}",
        "default": role_id % 50 == 0,
        "agent_type": 1 + role_id % 3,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "agent_ids": [67_100_000_000 + a for a in agents],
    }


def write_day(day_dir: Path, roles: list[dict], files: int = FILES_PER_DAY) -> None:
    folder = day_dir / "admin_roles"
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(roles) // files)
    for index in range(files):
        chunk = roles[index * size : (index + 1) * size]
        (folder / f"roles_{index:03d}.json").write_text(json.dumps(chunk))


def generate(
    root: Path, roles: int, days: int, seed: int = 7, files: int = FILES_PER_DAY
) -> list[str]:
    """Writes ``days`` day folders (``2026-01-01`` on) under ``root``, each in ``files`` files;
    returns their names."""
    rng = random.Random(seed)
    agent_pool = roles * AGENTS_PER_ROLE
    state = {
        r: (0, [(r * AGENTS_PER_ROLE + k) % agent_pool for k in range(AGENTS_PER_ROLE)])
        for r in range(1, roles + 1)
    }
    names = []
    start = dt.datetime(2026, 1, 1)
    for number in range(days):
        day = (start + dt.timedelta(days=number)).strftime("%Y-%m-%d")
        if number:
            for role_id in rng.sample(range(1, roles + 1), int(roles * CHURN)):
                version, agents = state[role_id]
                agents = agents[1:] + [rng.randrange(agent_pool)]
                state[role_id] = (version + 1, agents)
        updated = start + dt.timedelta(days=number, hours=6)
        write_day(root / day, [_role(r, v, a, updated) for r, (v, a) in state.items()], files)
        names.append(day)
    return names


def small_team(root: Path, roles: int, days: int) -> list[str]:
    """``generate`` for a small team: each day in the files its API pull would write."""
    return generate(root, roles, days, files=-(-roles // PAGE_SIZE))
