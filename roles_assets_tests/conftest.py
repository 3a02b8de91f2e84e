"""Shared fixtures: a real PostgreSQL server and a real local Spark session, started once.

The suite runs under a non-UTC time zone (``make test`` sets TZ; this file insists), because
stored timestamps must be UTC wall time whatever the machine's zone.
"""

import os
import time

if os.environ.get("TZ", "UTC") in ("", "UTC", "Etc/UTC"):
    os.environ["TZ"] = "America/Sao_Paulo"
time.tzset()

import contextlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import dagster as dg  # noqa: E402
import psycopg2  # noqa: E402
import pytest  # noqa: E402

from roles_assets.definitions import build_definitions, build_resources  # noqa: E402
from roles_assets.partitions import register_days  # noqa: E402
from roles_assets.resources.spark import spark_resource  # noqa: E402
from roles_assets.settings import Settings  # noqa: E402
from roles_assets_dev import local_postgres  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A PostgreSQL server of the tests' own, in a folder the server's OS user can reach."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="roles-test-pg-"))
        self.base.chmod(0o755)
        self.data_dir, self.port = self.base / "pg", free_port()
        self.admin_url = self.start().rsplit("/", 1)[0] + "/postgres"

    def start(self) -> str:
        return local_postgres.start(self.data_dir, self.port)

    def stop(self) -> None:
        local_postgres.stop(self.data_dir)

    def restart(self) -> None:
        local_postgres.restart(self.data_dir)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def pytest_collection_modifyitems(items):
    """A test module that does not declare itself ``fast`` belongs to the integration layer."""
    for item in items:
        if item.get_closest_marker("fast") is None:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def pg_admin_url():
    server = Server()
    yield server.admin_url
    server.remove()


@pytest.fixture(scope="session")
def spark():
    return spark_resource().spark_session


@pytest.fixture
def landing(tmp_path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


class Graph:
    """The production job, with resources pointed at a test database and landing folder."""

    def __init__(self, landing: Path, database_url: str, raw_path: Path, instance):
        self.landing, self.raw_path, self.instance = landing, raw_path, instance
        self.use_database_url(database_url)

    def use_database_url(self, database_url: str, through_env_var: str | None = None) -> None:
        """Points the job at ``database_url``; with ``through_env_var``, handed over as a
        deployment does, a ``dg.EnvVar`` read at run time (the caller sets the variable)."""
        self.database_url = database_url
        settings = Settings.from_env(
            {"ROLES_LANDING_DIR": str(self.landing), "ROLES_RAW_PATH": str(self.raw_path)}
        )
        url = dg.EnvVar(through_env_var) if through_env_var else database_url
        resources = build_resources(settings, url)
        self.job = build_definitions(resources).resolve_implicit_global_asset_job_def()

    def register(self, day: str) -> None:
        register_days(self.instance, [day])

    def run(self, day: str, raise_on_error: bool = True):
        self.register(day)
        return self.job.execute_in_process(
            partition_key=day, instance=self.instance, raise_on_error=raise_on_error
        )

    def query(self, statement: str, params=None) -> list[tuple]:
        conn = psycopg2.connect(self.database_url)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def final_tables(self) -> dict[str, list[tuple]]:
        return {
            "roles": self.query("SELECT * FROM roles ORDER BY role_id"),
            "agent_role_mapping": self.query(
                "SELECT * FROM agent_role_mapping ORDER BY agent_id, role_id"
            ),
            "agent_role_history": self.query("SELECT * FROM agent_role_history h ORDER BY h"),
            "role_history": self.query("SELECT * FROM role_history h ORDER BY h"),
        }

    def mapping(self) -> dict[tuple[int, int], tuple]:
        """(agent_id, role_id) -> (status, assigned_at, removed_at)."""
        rows = self.query(
            "SELECT agent_id, role_id, status, assigned_at, removed_at FROM agent_role_mapping"
        )
        return {(a, r): (status, assigned, removed) for a, r, status, assigned, removed in rows}


@pytest.fixture
def make_graph(landing, pg_admin_url, tmp_path, spark):
    """Graphs over the same landing folder, each with a database and instance of its own."""
    with contextlib.ExitStack() as stack:

        def make() -> Graph:
            name = f"t_{uuid.uuid4().hex[:12]}"
            url = local_postgres.create_database(pg_admin_url, name)
            test_instance = stack.enter_context(dg.instance_for_test())
            return Graph(landing, url, tmp_path / name / "raw", test_instance)

        yield make


@pytest.fixture
def graph(make_graph) -> Graph:
    return make_graph()


SECRET = "Sup3r-s3cret-pw"


@pytest.fixture
def password_in_url(monkeypatch):
    """Switches a graph to a login with password SECRET, handed over as a deployment does: a URL
    in ``ROLES_TEST_DATABASE_URL``, read through ``dg.EnvVar`` at run time."""

    def use(graph: Graph) -> str:
        user = f"loader_{uuid.uuid4().hex[:8]}"
        graph.query(f"CREATE ROLE {user} LOGIN SUPERUSER PASSWORD '{SECRET}'")
        url = graph.database_url.replace("roles@", f"{user}:{SECRET}@")
        monkeypatch.setenv("ROLES_TEST_DATABASE_URL", url)
        graph.use_database_url(url, through_env_var="ROLES_TEST_DATABASE_URL")
        return SECRET

    return use


def assert_secret_kept(secret: str, result, instance, capfd, caplog) -> None:
    """``secret`` is in no error, event (log lines, metadata, check results) or captured output."""
    records = instance.all_logs(result.run_id)
    assert records
    places = {f"event {i}": dg.serialize_value(record) for i, record in enumerate(records)}
    if not result.success:
        places["error"] = failure_text(result)
    captured = capfd.readouterr()
    places |= {"stdout": captured.out, "stderr": captured.err, "log records": caplog.text}
    assert [place for place, text in places.items() if secret in text] == []


def failure_text(result) -> str:
    """The messages of the run's step failure, with the errors that caused it."""
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error, messages = failure.step_failure_data.error, []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)


def role(role_id, name="Role", agent_ids=(), updated_at="2026-01-01T00:00:00Z", **fields) -> dict:
    """A Freshdesk role record; keyword fields override or add to the defaults."""
    record = {
        "id": role_id,
        "name": name,
        "description": f"{name} description",
        "default": False,
        "agent_type": 1,
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": updated_at,
        "agent_ids": list(agent_ids),
    }
    record.update(fields)
    return record


def write_day(root: Path, day: str, roles=None, agents=None, files=None) -> Path:
    """Lands a day: ``roles`` as one array file, ``agents`` one file each, ``files`` verbatim
    (``{"admin_roles/x.json": text}``)."""
    day_dir = root / day
    (day_dir / "admin_roles").mkdir(parents=True, exist_ok=True)
    if roles is not None:
        (day_dir / "admin_roles" / "roles.json").write_text(json.dumps(roles, ensure_ascii=False))
    for agent in agents or []:
        folder = day_dir / "agent_details"
        folder.mkdir(exist_ok=True)
        (folder / f"agent_{agent['id']}.json").write_text(json.dumps(agent))
    for name, text in (files or {}).items():
        path = day_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return day_dir
