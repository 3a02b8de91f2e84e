"""The domain's words in one place: the kinds of error row a day can hold, and the defaults of
the thresholds and sample sizes. Pure Python: settings, transforms, SQL checks and descriptions
all read them from here."""

import enum


class ErrorType(enum.StrEnum):
    """The ``error_type`` of a ``role_pipeline_errors`` row."""

    MALFORMED_JSON = "MALFORMED_JSON"  # a file that holds no records
    MISSING_ROLE_ID = "MISSING_ROLE_ID"
    INVALID_ROLE_ID = "INVALID_ROLE_ID"
    MISSING_NAME = "MISSING_NAME"
    DUPLICATE_ROLE = "DUPLICATE_ROLE"  # a record that lost to a later one of its id
    MISSING_AGENT_ID = "MISSING_AGENT_ID"
    INVALID_AGENT_ID = "INVALID_AGENT_ID"
    INVALID_ROLE_IDS = "INVALID_ROLE_IDS"  # an agent's role_ids is not a list of ids
    UNKNOWN_ROLE = "UNKNOWN_ROLE"  # an agent names a role that is not valid that day
    INVALID_VALUE = "INVALID_VALUE"  # an optional field malformed; the role is kept without it


# The guards' thresholds, each a share from 0 to 1 (ROLES_MAX_* override them).
DEFAULT_MAX_REMOVAL_SHARE = 0.5
DEFAULT_MAX_REJECTION_RATE = 0.2
DEFAULT_MAX_MALFORMED_SHARE = 0.5

# Rows shown as a sample by a check or by a staging table's materialization.
SAMPLE_ROWS = 5
# An unreadable file's text is kept in its error row up to this many characters; the file
# itself stays in the landing zone.
MAX_KEPT_FILE_TEXT = 1_000_000
