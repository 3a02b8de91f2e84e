"""Every variable the developer tooling reads, in one place (the code location's are in
roles_assets/settings.py)."""

import os
from pathlib import Path

from roles_assets.settings import SAMPLE_LANDING

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = PROJECT_DIR / ".local"
SAMPLE_LANDING_DIR = PROJECT_DIR / SAMPLE_LANDING

# The project-local PostgreSQL: the machine's server binaries and the port it listens on.
PG_BIN = Path(os.environ.get("ROLES_PG_BIN", "/usr/lib/postgresql/15/bin"))
try:
    LOCAL_PG_PORT = int(os.environ.get("ROLES_LOCAL_PG_PORT", "54329"))
except ValueError:
    raise SystemExit(
        f"ROLES_LOCAL_PG_PORT={os.environ['ROLES_LOCAL_PG_PORT']!r} is not a port number"
    ) from None
LOCAL_PG_DATA_DIR = LOCAL_DIR / "postgres"

# The JVM that checks the Spark class archive; PATH's java when unset.
JAVA_HOME = os.environ.get("JAVA_HOME")

# Where `make run` and `make dev` keep the Dagster instance's dagster.yaml; its storage is always
# on the project-local server (ROLES_DATABASE_URL moves only the warehouse).
DAGSTER_HOME = Path(os.environ.get("DAGSTER_HOME") or LOCAL_DIR / "dagster_home")

# `make dev` runs the code location on a local Spark Connect server on this port, unless a
# Spark of the user's own is configured (ROLES_SPARK_REMOTE or ROLES_SPARK_MASTER).
try:
    LOCAL_SPARK_CONNECT_PORT = int(os.environ.get("ROLES_LOCAL_SPARK_CONNECT_PORT", "15002"))
except ValueError:
    raise SystemExit(
        f"ROLES_LOCAL_SPARK_CONNECT_PORT={os.environ['ROLES_LOCAL_SPARK_CONNECT_PORT']!r} "
        "is not a port number"
    ) from None
LOCAL_SPARK_CONNECT_DIR = LOCAL_DIR / "spark-connect"
OWN_SPARK = bool(os.environ.get("ROLES_SPARK_REMOTE") or os.environ.get("ROLES_SPARK_MASTER"))


def _count(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise SystemExit(f"{name}={text!r} is not a count: give a whole number, e.g. {default}")
    return int(text)


# The instance `make run` and `make dev` write: how many runs may be in progress at once (each
# may hold a Spark driver), and how many heavy steps (Spark, the final apply; the pool
# roles_assets.assets.LOAD_POOL) run at once across them.
MAX_CONCURRENT_RUNS = _count("ROLES_MAX_CONCURRENT_RUNS", 2)
LOAD_POOL_LIMIT = _count("ROLES_LOAD_POOL_LIMIT", 1)


# Dagster's opt-in batching of event writes (DAGSTER_EVENT_BATCH_SIZE; PostgreSQL instances): a
# range run then writes each asset's materializations of its days in statements of this many
# instead of one write each. `make run`, `make dev` and the bench set it; so does
# deploy/Dockerfile.
EVENT_BATCH_SIZE = str(_count("DAGSTER_EVENT_BATCH_SIZE", 100))
