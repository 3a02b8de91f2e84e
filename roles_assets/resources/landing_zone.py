"""The landing zone as a resource: the root folder of the sync days (``ROLES_LANDING_DIR``)."""

from pathlib import Path

import dagster as dg


class LandingZone(dg.ConfigurableResource):
    """The landing root: one folder per sync day (the layout is in ``roles_assets.landing``)."""

    root: str

    @property
    def path(self) -> Path:
        return Path(self.root)

    def day_dir(self, sync_day: str) -> Path:
        return self.path / sync_day
