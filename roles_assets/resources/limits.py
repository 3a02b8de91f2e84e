"""The guards' thresholds as a resource, so assets and checks get them from the settings."""

import dagster as dg

from roles_assets.rules import (
    DEFAULT_MAX_MALFORMED_SHARE,
    DEFAULT_MAX_REJECTION_RATE,
    DEFAULT_MAX_REMOVAL_SHARE,
)


class GuardLimits(dg.ConfigurableResource):
    """``ROLES_MAX_REMOVAL_SHARE``, ``ROLES_MAX_REJECTION_RATE`` and
    ``ROLES_MAX_MALFORMED_SHARE``, as parsed by settings.py."""

    max_removal_share: float = DEFAULT_MAX_REMOVAL_SHARE
    max_rejection_rate: float = DEFAULT_MAX_REJECTION_RATE
    max_malformed_share: float = DEFAULT_MAX_MALFORMED_SHARE
