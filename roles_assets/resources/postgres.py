"""PostgreSQL: connections with bounded retries, and schema migrations."""

import contextlib
import logging
import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import dagster as dg
import psycopg2
import psycopg2.extensions

from roles_assets.warehouse.sql import MIGRATION_LOCK, SQL_DIR, advisory_lock, sql_file

log = logging.getLogger(__name__)


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL could not be reached; the message names host and database, never the password."""


class PostgresResource(dg.ConfigurableResource):
    """The project's PostgreSQL database, from a ``postgresql://`` URL.

    The warehouse's two writers, a staging write and a day's apply, call ``migrate`` before they
    write, so a fresh database needs no set-up step. Not at a run's start: a run's API pull needs
    no database and must land today's files while the database is down.
    """

    database_url: str
    connect_attempts: int = 3

    def migrate(self) -> list[str]:
        """Applies the ``sql/schema/NNN_*.sql`` steps this database has not seen yet, in order.

        Safe to call from concurrent runs: an advisory lock lets one of them migrate at a time.
        """
        steps = sorted(
            entry.name for entry in (SQL_DIR / "schema").iterdir() if entry.name.endswith(".sql")
        )
        applied = []
        with contextlib.closing(self.connect()) as conn, conn, conn.cursor() as cur:
            advisory_lock(cur, MIGRATION_LOCK)
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " step TEXT PRIMARY KEY,"
                " applied_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'))"
            )
            cur.execute("SELECT step FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for step in steps:
                if step in done:
                    continue
                cur.execute(sql_file(f"schema/{step}"))
                cur.execute("INSERT INTO schema_migrations (step) VALUES (%s)", (step,))
                applied.append(step)
        if applied:
            log.info("applied schema steps %s", ", ".join(applied))
        return applied

    @property
    def _parts(self):
        parts = urlsplit(self.database_url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("ROLES_DATABASE_URL must start with postgresql://")
        return parts

    @property
    def target(self) -> str:
        """``host:port/database``: safe to show in logs and errors."""
        parts = self._parts
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"

    @property
    def _password(self) -> str | None:
        """From the URL's user part, or else its ``password`` query parameter (libpq takes both)."""
        parts = self._parts
        if parts.password:
            return unquote(parts.password)
        return dict(parse_qsl(parts.query)).get("password") or None

    def _redact(self, message: str) -> str:
        password = self._password
        return message.replace(password, "***") if password else message

    def error_summary(self, error: Exception | str) -> str:
        """The first line (at most 500 characters) of a driver's error, without the password."""
        text = str(error).strip()
        return self._redact(text.splitlines()[0][:500] if text else type(error).__name__)

    def connect(self) -> psycopg2.extensions.connection:
        """A new connection; transient failures are retried with a short back-off."""
        for attempt in range(1, self.connect_attempts + 1):
            try:
                conn = psycopg2.connect(self.database_url, connect_timeout=10)
                break
            except psycopg2.OperationalError as error:
                if attempt == self.connect_attempts:
                    raise DatabaseUnavailable(
                        f"cannot connect to PostgreSQL at {self.target} after "
                        f"{attempt} attempts: {self.error_summary(error)}"
                    ) from None
                log.warning(
                    "PostgreSQL at %s unavailable (%s); retrying",
                    self.target,
                    self.error_summary(error),
                )
                time.sleep(0.5 * 2**attempt)
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor inside one transaction: committed on success, rolled back on any error.

        A connection lost midway (a server restart, a network cut) takes the transaction with it,
        so none of it is applied; it is reported as DatabaseUnavailable, naming the server. Lost
        during the commit itself, the outcome is unknown, and the error says so: re-run the day.
        """
        conn, committing = self.connect(), False
        try:
            yield conn.cursor()
            committing = True
            conn.commit()
        except BaseException as error:
            if conn.closed:
                outcome = (
                    "whether the commit reached the server is unknown"
                    if committing
                    else "nothing of this transaction was applied"
                )
                raise DatabaseUnavailable(
                    f"lost the connection to PostgreSQL at {self.target}; {outcome}: "
                    f"{self.error_summary(error)}"
                ) from None
            conn.rollback()
            raise
        finally:
            conn.close()

    def jdbc_url(self) -> str:
        parts = self._parts
        options = "reWriteBatchedInserts=true&stringtype=unspecified"
        # The password goes to the driver as a property (jdbc_properties), never in the URL.
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
        if query:
            options += "&" + query
        host = f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
        return f"jdbc:postgresql://{host}{parts.path}?{options}"

    def jdbc_properties(self) -> dict[str, str]:
        parts = self._parts
        properties = {"driver": "org.postgresql.Driver", "user": unquote(parts.username or "")}
        if self._password:
            properties["password"] = self._password
        return properties
