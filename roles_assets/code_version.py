"""The code version of every asset and check: one hash of the package's source and its SQL.

Dagster marks a partition materialized by older code when its asset's code version changes. A
hash of everything the code location can run misses no dependency, where a hand-kept list of
modules could; the price is that any change marks every asset.
"""

import hashlib
from pathlib import Path

from roles_assets.warehouse.sql import SQL_DIR


def source_digest(code: Path, sql: Path) -> str:
    """A short hash of the ``.py`` files under ``code`` and the ``.sql`` files under ``sql``:
    their relative paths and bytes, in a fixed order. ``code`` may hold ``sql`` (a wheel does),
    so a checkout and an installed wheel of the same code agree."""
    digest = hashlib.sha256()
    python = [path for path in code.rglob("*.py") if sql not in path.parents]
    for folder, paths in ((code, python), (sql, sql.rglob("*.sql"))):
        for path in sorted(paths):
            data = path.read_bytes()
            name = path.relative_to(folder).as_posix().encode()
            digest.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()[:12]


# Computed once, on import: reading some 70 small files takes a few milliseconds.
CODE_VERSION = source_digest(Path(__file__).parent, SQL_DIR)
