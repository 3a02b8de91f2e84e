"""roles_assets: helpdesk role dumps -> validated, deduplicated PostgreSQL tables.

`dagster ... -m roles_assets` finds `defs` here; the graph itself lives in `definitions.py`.
"""

from roles_assets.definitions import defs

__all__ = ["defs"]
