"""The Dagster instance of a ``DAGSTER_HOME``, its storage created by one process at a time.

dagster-postgres creates an instance's tables in each process that opens the instance, when it
finds them missing. Processes opening a brand-new instance together race in that creation, and a
loser can fail with an error dagster-postgres does not retry (a table or type "already exists").
Opening the instance under a PostgreSQL advisory lock on the instance's own database makes the
others wait until the tables are there. Any other storage (SQLite) is opened as it is.

``HeldConnectionPostgresStorage`` is dagster-postgres' storage with its event log keeping a
connection between writes.
"""

import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import sqlalchemy
import yaml
from dagster._config import process_config
from dagster._core.instance.ref import InstanceRef
from dagster_postgres import DagsterPostgresStorage, PostgresEventLogStorage
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
)

# The key every process opening the instance through here waits on, in the instance's database.
STORAGE_LOCK_KEY = zlib.crc32(b"roles_assets: Dagster instance storage")


class HeldConnectionEventLogStorage(PostgresEventLogStorage):
    """dagster-postgres' event log holding a connection open between writes, and closing it when
    the instance is disposed.

    Outside the webserver, dagster-postgres opens a new server connection for each event it
    stores, a few milliseconds each; a range run stores a check evaluation per check and day,
    thousands for a year, and spent most of its time connecting.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # One connection held, more opened while it is busy; a held one is checked before reuse,
        # since the server or the network may have closed it while it sat idle.
        self._engine = create_pg_engine(
            self.postgres_url,
            self._token_provider,
            isolation_level="AUTOCOMMIT",
            pool_size=1,
            max_overflow=20,
            pool_recycle=3600,
            pool_pre_ping=True,
        )

    def optimize_for_webserver(self, *args, **kwargs) -> None:
        held = self._engine
        super().optimize_for_webserver(*args, **kwargs)  # the webserver's own pool replaces it
        held.dispose()

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()


class HeldConnectionPostgresStorage(DagsterPostgresStorage):
    """``storage: postgres:`` with a ``HeldConnectionEventLogStorage``. In ``dagster.yaml``:
    ``storage: custom: {module: roles_assets.instance, class: HeldConnectionPostgresStorage,
    config: <what storage: postgres: takes>}``."""

    def __init__(
        self, postgres_url, should_autocreate_tables=True, inst_data=None, token_provider=None
    ):
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        # The tables are there: the event log built by super() created them if missing.
        self._event_log_storage = HeldConnectionEventLogStorage(
            postgres_url, should_autocreate_tables=False, token_provider=token_provider
        )

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "HeldConnectionPostgresStorage":
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )


def open_instance(home: Path, pools: Sequence[str] = ()) -> dg.DagsterInstance:
    """The instance whose ``dagster.yaml`` is in ``home``, its storage created if missing, and
    each of ``pools`` given its slots."""
    ref = InstanceRef.from_dir(str(home))
    url = postgres_storage_url(ref)
    if url is None:
        return dg.DagsterInstance.from_ref(ref)
    with storage_lock(url):
        instance = dg.DagsterInstance.from_ref(ref)
        # A pool's slots are otherwise created by the first step that claims one; two runs
        # claiming at once on a new instance both insert them, and one run fails.
        storage = instance.event_log_storage
        for pool in set(pools) - storage.get_concurrency_keys():
            storage.initialize_concurrency_limit_to_default(pool)
        return instance


def postgres_storage_url(ref: InstanceRef) -> str | None:
    """The URL of the instance's ``storage: postgres:``; None for any other storage, or for a
    configuration that does not resolve (opening the instance then says what is wrong)."""
    storage = ref.storage_data
    postgres = (DagsterPostgresStorage.__name__, HeldConnectionPostgresStorage.__name__)
    if storage is None or storage.class_name not in postgres:
        return None
    config = yaml.safe_load(storage.config_yaml)
    resolved = process_config(DagsterPostgresStorage.config_type(), config)
    return pg_url_from_config(resolved.value) if resolved.success else None


@contextmanager
def storage_lock(url: str) -> Iterator[None]:
    """Holds the storage lock on the database of ``url``, waiting for it as long as it takes."""
    engine = sqlalchemy.create_engine(
        url, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool
    )
    try:
        with engine.connect() as conn:
            lock = {"key": STORAGE_LOCK_KEY}
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), lock)
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), lock)
    finally:
        engine.dispose()
