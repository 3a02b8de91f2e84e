"""Landing one sync day from the Freshdesk API, atomically.

The API only knows the present, so a pull is a snapshot of today. It is written into a hidden
folder beside the day (same file system) and renamed into place once complete: the landing
sensor and ``raw_roles`` see either no day or the whole day, never part of one.
"""

import datetime as dt
import json
import logging
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from roles_assets.extract.client import (
    Counters,
    FreshdeskClient,
    FreshdeskError,
    FreshdeskNotFound,
)
from roles_assets.landing import AGENT_FOLDER, PARTIAL_PREFIX, PULL_RECORD, ROLE_FOLDER

log = logging.getLogger(__name__)

ROLES_PATH = "/api/v2/roles"
AGENTS_PATH = "/api/v2/agents?per_page=100"  # 100 is the API's largest page


@dataclass
class PullReport:
    """What a pull cost and wrote; its requests are 1 + agent list pages + agents, plus retries."""

    api: Counters
    roles: int = 0
    agents: int = 0
    agents_skipped: list[int] = field(default_factory=list)
    files_written: int = 0


def today_utc() -> str:
    """Today's date in UTC, as a sync-day key (``2026-12-01``): the only day the API can give."""
    return dt.datetime.now(dt.UTC).date().isoformat()


def why_not_pullable(day: str, today: str, api_configured: bool) -> str | None:
    """Why a day that has no folder cannot be pulled now, or None when it can."""
    if day != today:
        return (
            f"sync day {day!r} has no folder in the landing zone (never landed, or removed since), "
            "and the Freshdesk API cannot give it: the API knows only the present, so only "
            f"today's day ({today}, UTC) can be pulled"
        )
    if not api_configured:
        return (
            f"sync day {day!r} has no folder in the landing zone and the Freshdesk API is not "
            "configured: set "
            "FRESHDESK_API_KEY and FRESHDESK_DOMAIN (or FRESHDESK_BASE_URL) to pull it"
        )
    return None


def pull_day(client: FreshdeskClient, landing_root: Path, day: str) -> PullReport:
    """Lands ``day`` under ``landing_root`` from the API; a failure leaves no day folder.

    Roles go to ``admin_roles/roles_NNNN.json``, one file per page, and each listed agent's
    detail to ``agent_details/<id>.json``, both byte for byte as the API answered. A day that
    exists already is never touched: the rename into place refuses to replace it.
    """
    landing_root.mkdir(parents=True, exist_ok=True)
    partial = landing_root / f"{PARTIAL_PREFIX}{day}-{uuid.uuid4().hex[:12]}"
    partial.mkdir()
    try:
        report = _fetch_into(client, partial)
        _write(partial / PULL_RECORD, json.dumps(asdict(report), indent=2).encode())
        _fsync_dir(partial / ROLE_FOLDER)
        _fsync_dir(partial / AGENT_FOLDER)
        _fsync_dir(partial)
        try:
            # rename(2) replaces an empty folder and refuses a non-empty one: never a landed day.
            os.rename(partial, landing_root / day)
        except OSError:
            raise FreshdeskError(
                f"sync day {day!r} landed meanwhile; this pull was discarded"
            ) from None
        _fsync_dir(landing_root)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return report


def _fetch_into(client: FreshdeskClient, folder: Path) -> PullReport:
    report = PullReport(api=client.counters)
    (folder / ROLE_FOLDER).mkdir()
    (folder / AGENT_FOLDER).mkdir()
    for page in client.pages(ROLES_PATH):
        _write(folder / ROLE_FOLDER / f"roles_{page.number:04d}.json", page.body)
        report.roles += len(page.records)
        report.files_written += 1
    for agent_id in _listed_agent_ids(client):
        try:
            _, body = client.get_object(f"/api/v2/agents/{agent_id}")
        except FreshdeskNotFound:
            log.warning(
                "agent %d was listed but its detail answers 404 (deleted meanwhile): skipped",
                agent_id,
            )
            report.agents_skipped.append(agent_id)
            continue
        _write(folder / AGENT_FOLDER / f"{agent_id}.json", body)
        report.agents += 1
        report.files_written += 1
    return report


def _listed_agent_ids(client: FreshdeskClient) -> list[int]:
    """The ids of every listed agent, each once (an agent added meanwhile shifts the pages, so
    one may be listed twice).

    An id becomes a URL path and a file name, so anything but a positive integer fails the pull.
    """
    ids: dict[int, None] = {}
    for page in client.pages(AGENTS_PATH):
        for record in page.records:
            agent_id = record.get("id") if isinstance(record, dict) else None
            if type(agent_id) is not int or agent_id <= 0:
                raise FreshdeskError(
                    f"agent list page {page.number} holds a record without a positive integer id"
                )
            ids[agent_id] = None
    return list(ids)


def _write(path: Path, body: bytes) -> None:
    with open(path, "xb") as file:
        file.write(body)
        file.flush()
        os.fsync(file.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
