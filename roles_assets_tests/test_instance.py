"""The Dagster instance on PostgreSQL: `make run`'s, registration of landed days racing itself,
and a registration that cannot reach the instance failing the load with why and what to do."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import sqlalchemy.exc

from roles_assets.partitions import register_days, sync_day_partitions
from roles_assets_dev import local_postgres, run_days
from roles_assets_tests.helpers import (
    LOAD_CODE_LOCATION,
    Server,
    postgres_home,
    query,
    role,
    write_day,
)

CHECKOUT = Path(__file__).resolve().parent.parent


# Each process imports Dagster, says it is ready, waits for the gate file, then loads the code
# location, which registers the landed days: both reach the fresh instance at the same moment.
_LOAD_AT_GATE = f"""
import os, sys, time
import dagster, sqlalchemy
print("ready", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.005)
{LOAD_CODE_LOCATION}
"""


def test_registration_racing_itself_on_a_fresh_postgres_instance(tmp_path, pg_admin_url, landing):
    days = [f"day{i}" for i in range(1, 41)]
    for day in days:
        (landing / day).mkdir()
    home = postgres_home(tmp_path / "home", pg_admin_url, "dagster_race")
    gate = tmp_path / "gate"
    env = {**os.environ, "DAGSTER_HOME": str(home), "ROLES_LANDING_DIR": str(landing)}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _LOAD_AT_GATE, str(gate)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for racer in racers:
        assert racer.stdout.readline() == "ready\n"
    gate.touch()
    for racer in racers:
        _, stderr = racer.communicate(timeout=180)
        assert racer.returncode == 0, stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert sorted(instance.get_dynamic_partitions("sync_day")) == sorted(days)
    dagster_db = pg_admin_url.rsplit("/", 1)[0] + "/dagster_race"
    assert query(dagster_db, "SELECT count(*) FROM dynamic_partitions") == [(40,)]


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
        **os.environ,
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


def test_make_runs_instance_is_on_postgres(tmp_path, monkeypatch, capsys):

    server = Server()
    try:
        warehouse = local_postgres.create_database(server.admin_url, "roles")
        monkeypatch.setenv("ROLES_DATABASE_URL", warehouse)
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "unused"))  # restored after the test
        home = tmp_path / "dagster_home"
        run_days.prepare_environment(home=home, data_dir=server.data_dir, port=server.port)
        assert os.environ["DAGSTER_HOME"] == str(home)
        yaml = (home / "dagster.yaml").read_text()
        assert f"port: {server.port}" in yaml and "db_name: dagster" in yaml
        assert "nux:\n  enabled: false" in yaml and "telemetry:\n  enabled: false" in yaml

        assert run_days.materialize_landed_days() == 0
        assert "3 of 3 days loaded" in capsys.readouterr().out
        dagster_db = server.admin_url.rsplit("/", 1)[0] + "/dagster"
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
