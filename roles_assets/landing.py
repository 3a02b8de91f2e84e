"""The landing-zone contract: which files a sync day holds and when that day was synced.

Layout: ``<root>/<sync_day>/admin_roles/*.json`` and, optionally,
``<root>/<sync_day>/agent_details/*.json``. Nothing here knows about Dagster runs or Spark.
"""

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ROLE_FOLDER = "admin_roles"
AGENT_FOLDER = "agent_details"
SOURCE_FOLDERS = (ROLE_FOLDER, AGENT_FOLDER)

# A day being pulled from the API is written to a hidden folder named with this prefix, then
# renamed to the day's name; such a folder is never a day. A day that was pulled holds a record
# of the pull (counts only, no credentials) beside its source folders.
PARTIAL_PREFIX = ".partial-"
PULL_RECORD = ".pull.json"

_DATE_IN_KEY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class LandedFile:
    folder: str  # ROLE_FOLDER or AGENT_FOLDER
    path: Path

    @property
    def name(self) -> str:
        """The file's name as reported in errors and staging: ``admin_roles/roles_1.json``."""
        return f"{self.folder}/{self.path.name}"


def day_files(day_dir: Path) -> list[LandedFile]:
    """The day's ``*.json`` files, role files first, each folder in file-name order.

    Symlinks and sub-folders are skipped with a warning: a symlink could reach outside the
    landing zone, and a sub-folder is not part of the contract.
    """
    files = []
    for folder in SOURCE_FOLDERS:
        folder_dir = day_dir / folder
        if folder_dir.is_symlink() or not folder_dir.is_dir():
            continue
        for path in sorted(folder_dir.glob("*.json"), key=lambda p: p.name):
            if path.is_symlink() or not path.is_file():
                log.warning("skipping %s/%s: not a regular file", folder, path.name)
                continue
            files.append(LandedFile(folder, path))
    return files


def sync_time(day_dir: Path) -> dt.datetime:
    """When the day's snapshot was taken, as naive UTC, derived from the landed data only.

    A date in the folder name (``2026-11-24``) wins; otherwise the folder's modification time,
    which is when its files landed. Never the time a run happens to execute.
    """
    match = _DATE_IN_KEY.search(day_dir.name)
    if match:
        try:
            return dt.datetime(*(int(part) for part in match.groups()))
        except ValueError:
            pass  # looks like a date but is not one (2026-13-45): fall back to the folder time
    mtime = day_dir.stat().st_mtime
    return dt.datetime.fromtimestamp(int(mtime), dt.UTC).replace(tzinfo=None)


def fingerprint(day_dir: Path) -> str:
    """A short hash of the day's file names, sizes and modification times.

    Changes when a file of the day is added, removed or rewritten, so a re-landed day is noticed.
    """
    digest = hashlib.sha256()
    for landed in day_files(day_dir):
        stat = landed.path.stat()
        digest.update(f"{landed.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]
