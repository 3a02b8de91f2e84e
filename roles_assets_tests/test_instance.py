"""The Dagster instance on PostgreSQL: `make run`'s, first loads racing on a fresh instance,
and a registration that cannot reach the instance failing the load with why and what to do."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy
import sqlalchemy.exc

from roles_assets.partitions import register_days, sync_day_partitions
from roles_assets_dev import local_postgres, run_days
from roles_assets_dev.config import EVENT_BATCH_SIZE
from roles_assets_tests.helpers import (
    LOAD_CODE_LOCATION,
    Server,
    child_env,
    free_port,
    postgres_home,
    query,
    role,
    write_day,
)

CHECKOUT = Path(__file__).resolve().parent.parent


# Each racer imports the code location once, with no DAGSTER_HOME (so nothing is registered
# then), and says it is ready. For each trial it reads a fresh DAGSTER_HOME and a gate file, waits
# for the gate, then runs the load's registration: the racers open the brand-new instance, and so
# create its storage, together. Their starts spread over a tenth of a second: racers that start
# in step collide on the first table, back off together and never meet again, while a spread lets
# one reach a table just as another creates it.
_RACER = """
import os, random, sys, time
from roles_assets.definitions import register_landed_days
from roles_assets.settings import Settings
print("ready", flush=True)
for line in sys.stdin:
    home, gate = line.split()
    os.environ["DAGSTER_HOME"] = home
    settings = Settings.from_env()
    while not os.path.exists(gate):
        time.sleep(0.001)
    time.sleep(random.uniform(0, 0.1))
    try:
        register_landed_days(settings)
        print("ok", flush=True)
    except Exception as error:
        print("failed:", str(error).splitlines()[0], flush=True)
"""

RACE_TRIALS = 30


def test_first_loads_racing_on_fresh_postgres_instances(tmp_path, pg_admin_url, landing):
    """Three processes load the code location at once on a brand-new PostgreSQL instance, again
    and again: each creates the instance's storage and registers the landed days."""
    days = [f"day{i}" for i in range(1, 41)]
    for day in days:
        (landing / day).mkdir()
    env = {key: value for key, value in child_env().items() if key != "DAGSTER_HOME"}
    env["ROLES_LANDING_DIR"] = str(landing)
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    # A hung racer is killed, so that its next line reads as empty and the test fails.
    kill_hung_racers = threading.Timer(600, lambda: [racer.kill() for racer in racers])
    kill_hung_racers.start()
    try:
        for racer in racers:
            assert racer.stdout.readline() == "ready\n"
        failed_trials, partition_counts = {}, set()
        for trial in range(RACE_TRIALS):
            database = f"dagster_race_{trial}"
            home = postgres_home(tmp_path / database, pg_admin_url, database, create_storage=False)
            gate = tmp_path / f"{database}.gate"
            for racer in racers:
                racer.stdin.write(f"{home} {gate}\n")
                racer.stdin.flush()
            gate.touch()
            outcomes = [racer.stdout.readline().strip() for racer in racers]
            if outcomes != ["ok"] * 3:
                failed_trials[trial] = outcomes
            dagster_db = pg_admin_url.rsplit("/", 1)[0] + "/" + database
            partition_counts |= set(query(dagster_db, "SELECT count(*) FROM dynamic_partitions"))
        assert failed_trials == {}, f"{len(failed_trials)} of {RACE_TRIALS} trials failed"
        assert partition_counts == {(40,)}
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert sorted(instance.get_dynamic_partitions("sync_day")) == sorted(days)
    finally:
        kill_hung_racers.cancel()
        for racer in racers:
            racer.kill()
            racer.wait(timeout=30)


def test_a_registration_that_loses_the_race_on_the_unique_index_succeeds():
    """SQLite storage checks, then inserts: the loser of a race hits the unique index."""

    class RacedInstance:
        def __init__(self):
            self.known, self.raced = [], False

        def get_dynamic_partitions(self, name):
            assert name == sync_day_partitions.name
            return list(self.known)

        def add_dynamic_partitions(self, name, keys):
            if not self.raced:  # another process registers day1 and day2 first
                self.raced = True
                self.known += ["day1", "day2"]
                raise sqlalchemy.exc.IntegrityError(
                    "INSERT", {}, Exception("UNIQUE constraint failed")
                )
            self.known += keys

    instance = RacedInstance()
    register_days(instance, ["day1", "day2", "day3"])
    assert instance.known == ["day1", "day2", "day3"]


def test_an_unreachable_instance_fails_the_load_saying_why_and_what_to_do(tmp_path, landing):
    write_day(landing, "day1", roles=[role(1)])
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_db:\n      hostname: 127.0.0.1\n      port: 9\n"
        "      username: dagster\n"
        "      password: {env: DAGSTER_PG_PASSWORD}\n"
        "      db_name: dagster\n"
        "      scheme: postgresql+psycopg2\n"
    )
    env = {
        **child_env(),
        "DAGSTER_HOME": str(home),
        "ROLES_LANDING_DIR": str(landing),
        "DAGSTER_PG_PASSWORD": "Inst4nce-s3cret",
    }
    load = subprocess.run(
        [sys.executable, "-c", LOAD_CODE_LOCATION],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert load.returncode != 0
    assert (
        f"PartitionRegistrationFailed: could not register the 1 landed days of {landing} as "
        f"partitions of the Dagster instance in DAGSTER_HOME={home}"
    ) in load.stderr
    assert f"Check that the storage named in {home}/dagster.yaml is reachable" in load.stderr
    assert "Inst4nce-s3cret" not in load.stderr + load.stdout


@pytest.mark.local_spark_too  # `make run` runs every day in this process, on one session
def test_make_runs_instance_is_on_postgres(tmp_path, monkeypatch, capsys, spark_remote):
    monkeypatch.setenv("ROLES_SPARK_REMOTE", spark_remote or "")
    server = Server()
    try:
        warehouse = local_postgres.create_database(server.admin_url, "roles")
        monkeypatch.setenv("ROLES_DATABASE_URL", warehouse)
        # Both restored after the test: prepare_environment sets them.
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "unused"))
        monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)
        home = tmp_path / "dagster_home"
        run_days.prepare_environment(home=home, data_dir=server.data_dir, port=server.port)
        assert os.environ["DAGSTER_HOME"] == str(home)
        yaml = (home / "dagster.yaml").read_text()
        assert f"port: {server.port}" in yaml and "db_name: dagster" in yaml
        assert "nux:\n  enabled: false" in yaml and "telemetry:\n  enabled: false" in yaml
        dagster_db = server.admin_url.rsplit("/", 1)[0] + "/dagster"
        storage_tables = (
            "SELECT tablename FROM pg_tables WHERE tablename IN ('runs', 'event_logs', 'jobs')"
        )
        assert sorted(query(dagster_db, storage_tables)) == [("event_logs",), ("jobs",), ("runs",)]

        assert run_days.materialize_landed_days() == 0
        assert "3 of 3 days loaded" in capsys.readouterr().out
        runs = query(
            dagster_db,
            "SELECT r.status, t.value FROM runs r JOIN run_tags t"
            " ON t.run_id = r.run_id AND t.key = 'dagster/partition' ORDER BY 2",
        )
        assert runs == [
            ("SUCCESS", "2026-11-22"),
            ("SUCCESS", "2026-11-23"),
            ("SUCCESS", "2026-11-24"),
        ]
        assert query(warehouse, "SELECT sync_day FROM sync_days WHERE applied ORDER BY 1") == [
            ("2026-11-22",),
            ("2026-11-23",),
            ("2026-11-24",),
        ]
        assert query(
            warehouse, "SELECT count(*) FROM agent_role_mapping WHERE status = 'assigned'"
        ) == [(13,)]
        assert not (home / "history").exists()  # where SQLite run storage would be
    finally:
        server.remove()


def test_make_run_uses_the_local_server_already_running_on_another_port(
    tmp_path, monkeypatch, capfd
):
    server = Server()  # as left running by an earlier `make run`
    try:
        monkeypatch.delenv("ROLES_DATABASE_URL", raising=False)
        # Both restored after the test: prepare_environment sets them.
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "unused"))
        monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)
        capfd.readouterr()
        home, other_port = tmp_path / "dagster_home", free_port()
        run_days.prepare_environment(home=home, data_dir=server.data_dir, port=other_port)

        notices = [line for line in capfd.readouterr().err.splitlines() if "running" in line]
        assert notices == [
            f"Using the PostgreSQL server already running from {server.data_dir} on port "
            f"{server.port}, not {other_port}; to move it, stop it first: "
            f"python -m roles_assets_dev.local_postgres stop {server.data_dir}"
        ]
        warehouse = f"postgresql://{local_postgres.USER}@127.0.0.1:{server.port}/roles"
        assert os.environ["ROLES_DATABASE_URL"] == warehouse
        assert query(warehouse, "SELECT current_database()") == [("roles",)]
        assert f"port: {server.port}" in (home / "dagster.yaml").read_text()
        with dg.DagsterInstance.from_config(str(home)) as instance:
            instance.add_dynamic_partitions("sync_day", ["day1"])
        dagster_db = server.admin_url.rsplit("/", 1)[0] + "/dagster"
        assert query(dagster_db, "SELECT partition FROM dynamic_partitions") == [("day1",)]

        # On its own port, no notice.
        assert local_postgres.start(server.data_dir, server.port) == warehouse
        assert "running" not in capfd.readouterr().err
    finally:
        server.remove()


def test_the_instance_stores_events_on_one_held_connection(tmp_path, pg_admin_url):
    """`make run`'s instance (as the deployment's): its event log writes over one connection it
    keeps, not a connection of its own per event, and closes it when disposed."""
    home = postgres_home(tmp_path / "home", pg_admin_url, "held_connection")
    connects = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        engine = instance.event_log_storage._engine  # noqa: SLF001
        sqlalchemy.event.listen(engine, "connect", lambda *_: connects.append(1))
        for day in range(21):
            instance.report_runless_asset_event(dg.AssetMaterialization("held", partition=f"{day}"))
            if day == 0:  # the first write connects (and reads what Dagster caches)
                assert connects
                connects.clear()
        assert connects == []
        assert engine.pool.checkedin() == 1
    assert engine.pool.checkedin() == 0
    instance_db = pg_admin_url.rsplit("/", 1)[0] + "/held_connection"
    stored = "SELECT count(*) FROM event_logs WHERE asset_key = '[\"held\"]'"
    assert query(instance_db, stored) == [(21,)]
