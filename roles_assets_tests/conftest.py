"""Shared fixtures: a real PostgreSQL server, started once per test process, and a Spark Connect
server, started once per run, on which every in-process Spark step of the tests runs (with
ROLES_TESTS_LOCAL_SPARK=1, a local JVM instead: test_spark_modes runs the ``local_spark_too``
tests so).

The suite runs under a non-UTC time zone (``make test`` sets TZ; this file insists), because
stored timestamps must be UTC wall time whatever the machine's zone.

Its temporary files live in memory (/dev/shm) unless TMPDIR says otherwise: the Dagster instances
of the runs keep their events in SQLite, which syncs each event to disk, and a small run writes
a few hundred of them.
"""

import os
import shutil
import tempfile
import time

if os.environ.get("TZ", "UTC") in ("", "UTC", "Etc/UTC"):
    os.environ["TZ"] = "America/Sao_Paulo"
time.tzset()

# Set before anything asks for a temporary folder; the workers of a parallel run inherit it.
_OWN_TMPDIR = None
if "TMPDIR" not in os.environ and os.access("/dev/shm", os.W_OK):
    _OWN_TMPDIR = os.environ["TMPDIR"] = tempfile.mkdtemp(prefix="roles-tests-", dir="/dev/shm")
    os.chmod(_OWN_TMPDIR, 0o755)  # the PostgreSQL servers' OS user reaches its folders
    tempfile.tempdir = None

import contextlib  # noqa: E402
import fcntl  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import dagster as dg  # noqa: E402
import pytest  # noqa: E402

from roles_assets.resources.spark import (  # noqa: E402
    connect_config,
    jdbc_driver_jar,
    spark_config,
    spark_resource,
)
from roles_assets_dev import local_postgres  # noqa: E402
from roles_assets_dev.spark_connect import SparkConnectServer, stop_server  # noqa: E402
from roles_assets_tests.helpers import CONNECT_MODE, SECRET, Graph, Server, free_port  # noqa: E402


def pytest_collection_modifyitems(items):
    """A test module that does not declare itself ``fast`` belongs to the integration layer.
    The ``slow`` tests start first: with workers in parallel (``make test``), none of them is
    left to end the suite alone."""
    for item in items:
        if item.get_closest_marker("fast") is None:
            item.add_marker(pytest.mark.integration)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# A folder the whole run shares: its controller makes it; the workers of a parallel run inherit
# the variable, as they do TMPDIR.
_SHARED_DIR = "ROLES_TESTS_SHARED_DIR"


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller, or the only process
        os.environ[_SHARED_DIR] = tempfile.mkdtemp(prefix="roles-tests-shared-")


def pytest_unconfigure(config):
    shared = os.environ.pop(_SHARED_DIR, None)
    if not hasattr(config, "workerinput") and shared is not None:
        if (Path(shared) / "connect").exists():  # whatever a worker started
            stop_server(Path(shared) / "connect")
        shutil.rmtree(shared, ignore_errors=True)
    if _OWN_TMPDIR is not None:
        shutil.rmtree(_OWN_TMPDIR, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_admin_url():
    server = Server()
    yield server.admin_url
    server.remove()


@pytest.fixture(scope="session")
def connect_url():
    """A warm Spark Connect server (``ROLES_SPARK_REMOTE``) for every run and Spark step where
    the Spark mode is not what a test tests, in the tests' processes and in those they start:
    a run then skips a JVM start of its own, as runs of `make dev` and of a deployment do. The
    local and cluster modes are tested through the CLI (test_spark_modes, test_wheel, and the
    run test_guards kills).

    One server serves every worker of a parallel run, as one serves a deployment's runs, so its
    JIT compiles the graph's code once for all of them: the first worker to need it starts it,
    the run's controller stops it at the end."""
    shared = Path(os.environ[_SHARED_DIR])
    url = shared / "connect.url"
    with open(shared / "connect.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not url.exists():
            server = SparkConnectServer(shared / "connect", free_port(), jdbc_driver_jar())
            url.write_text(server.start())
    address = url.read_text()
    yield address
    if CONNECT_MODE in os.environ:
        # This process's session is closed while the server still runs: at exit, pyspark would
        # call a server the controller has stopped by then, and retry for minutes.
        spark_resource(connect_config(address)).spark_session.stop()


@pytest.fixture(scope="session")
def spark_remote(request) -> str | None:
    """Where the tests' in-process Spark steps run: the run's Connect server, or a local JVM
    (None) with ROLES_TESTS_LOCAL_SPARK=1. A process cannot hold both kinds of session."""
    if os.environ.get("ROLES_TESTS_LOCAL_SPARK") == "1":
        return None
    return request.getfixturevalue("connect_url")


@pytest.fixture(scope="session")
def spark_config_of_tests(spark_remote) -> dict[str, str]:
    return connect_config(spark_remote) if spark_remote else spark_config()


@pytest.fixture(scope="session")
def spark(spark_config_of_tests):
    """The tests' own session, where the graph's in-process runs get theirs. A Connect one
    marks this process as one that talks to Spark Connect (pyspark's
    SPARK_CONNECT_MODE_ENABLED), which the processes a test starts must not inherit:
    helpers.child_env."""
    return spark_resource(spark_config_of_tests).spark_session


@pytest.fixture
def landing(tmp_path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def make_graph(landing, pg_admin_url, tmp_path, spark_remote):
    """Graphs over the same landing folder, each with a database and instance of its own."""
    with contextlib.ExitStack() as stack:

        def make() -> Graph:
            name = f"t_{uuid.uuid4().hex[:12]}"
            url = local_postgres.create_database(pg_admin_url, name)
            test_instance = stack.enter_context(dg.instance_for_test())
            return Graph(landing, url, tmp_path / name / "raw", test_instance, spark_remote)

        yield make


@pytest.fixture
def graph(make_graph) -> Graph:
    return make_graph()


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
