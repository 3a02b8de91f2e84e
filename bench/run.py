"""`make bench`: how fast a day lands, next to the physical floor and to dlt.

Everything runs on one fresh PostgreSQL server of the benchmark's own, on the same data.
Each figure is the median of --repeats runs; ratios are taken between medians.
The asset graph runs through `dagster asset materialize`, as users run it: the same executor
and resources as the CLI, one process per run, on a Dagster instance that already exists. dlt runs
as a script, one process per run, too.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import floor, generate
from roles_assets_dev.config import EVENT_BATCH_SIZE
from roles_assets_dev.ports import free_port

PROJECT_DIR = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")
SAMPLE_DAY = "2026-11-22"


class PeakMemory:
    """Samples the summed resident memory of a process and all its descendants."""

    def __init__(self, pid: int):
        self.pid, self.peak_kb, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree_rss_kb(self) -> int:
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                continue
        total, todo = 0, [self.pid]
        while todo:
            pid = todo.pop()
            todo.extend(children.get(pid, []))
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total

    def _run(self):
        while not self._stop.wait(0.2):
            self.peak_kb = max(self.peak_kb, self._tree_rss_kb())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024


def timed(args: list[str], env: dict) -> tuple[float, float]:
    """Runs a command; returns (seconds, peak MiB of its process tree)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        args, env=env, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    memory = PeakMemory(process.pid)
    _, stderr = process.communicate()
    seconds, peak = time.perf_counter() - start, memory.stop()
    if process.returncode:
        raise RuntimeError(f"{' '.join(args[:4])} failed:\n{stderr[-4000:]}")
    return seconds, peak


def _dagster_home(home: Path, instance_url: str) -> Path:
    """A Dagster instance in ``home`` whose storage is the database of ``instance_url``, created
    now: a deployment's instance is a PostgreSQL one (deploy/dagster.yaml, `make run`'s) and
    exists before its runs, so creating its storage is not part of any run's time."""
    from urllib.parse import urlsplit

    from roles_assets.instance import open_instance
    from roles_assets_dev.run_days import dagster_yaml

    url = urlsplit(instance_url)
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(dagster_yaml(url.port, url.path.lstrip("/")))
    open_instance(home).dispose()
    return home


class Bench:
    def __init__(self, work: Path, admin_url: str):
        self.work, self.admin_url, self.databases = work, admin_url, 0

    def fresh_database(self) -> str:
        """A new database on a quiet server (``quiet_server``)."""
        from roles_assets_dev.local_postgres import create_database

        self.quiet_server()
        return create_database(self.admin_url, f"bench_{self.databases}")

    def quiet_server(self) -> None:
        """Drops the earlier measurements' databases, so their autovacuum does not run during the
        next one, and checkpoints their writes."""
        import psycopg2

        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for n in range(1, self.databases + 1):
                    for name in (f"bench_{n}", f"dagster_{n}"):
                        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                cur.execute("CHECKPOINT")
        finally:
            conn.close()
        self.databases += 1

    def dagster_home(self, home: Path) -> Path:
        """A Dagster instance in ``home`` on a database of the bench's server, dropped when the
        server is next quieted."""
        from roles_assets_dev.local_postgres import create_database

        return _dagster_home(home, create_database(self.admin_url, f"dagster_{self.databases}"))

    def env(self, landing: Path, database_url: str, home: Path) -> dict:
        return {
            **os.environ,
            "DAGSTER_HOME": str(self.dagster_home(home)),
            "DAGSTER_EVENT_BATCH_SIZE": EVENT_BATCH_SIZE,
            "ROLES_LANDING_DIR": str(landing),
            "ROLES_DATABASE_URL": database_url,
            "ROLES_RAW_PATH": str(self.work / "raw"),
            "SPARK_LOCAL_IP": "127.0.0.1",
        }

    def spark_start_stop(self, pyspark_defaults: bool = False, class_archive: bool = True) -> float:
        """A local session as the graph configures it (without `make setup`'s class archive, or
        with pyspark's defaults), started and stopped in a fresh process."""
        code = (
            "from pyspark.sql import SparkSession; "
            "SparkSession.builder.master('local[*]').getOrCreate().stop()"
            if pyspark_defaults
            else "from roles_assets.resources.spark import spark_config, spark_resource; "
            f"spark_resource(spark_config({'' if class_archive else 'class_archive=None'}))"
            ".spark_session.stop()"
        )
        return timed([sys.executable, "-c", code], dict(os.environ))[0]

    def dagster_floor(self, range_days: int | None = None) -> float:
        """Through the CLI: a run of one partitioned asset that does nothing; with
        ``range_days``, a range run of that many days of the graph's shape doing nothing
        (``bench/dagster_range_floor.py``)."""
        import dagster as dg

        from bench.dagster_floor import floor_days

        keys = [f"d{n:04d}" for n in range(1, (range_days or 1) + 1)]
        self.quiet_server()
        home = self.dagster_home(self.work / "home_dagster_floor")
        with dg.DagsterInstance.from_config(str(home)) as instance:
            instance.add_dynamic_partitions(floor_days.name, keys)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "DAGSTER_EVENT_BATCH_SIZE": EVENT_BATCH_SIZE,
        }
        if range_days is None:
            module, partitions = "bench.dagster_floor", ["--partition", keys[0]]
        else:
            module = "bench.dagster_range_floor"
            partitions = ["--partition-range", f"{keys[0]}...{keys[-1]}"]
        args = [DAGSTER, "asset", "materialize", "-m", module, "--select", "*", *partitions]
        return timed(args, env)[0]

    def graph_day(self, env: dict, day: str) -> dict:
        """One day through the CLI; seconds per stage from the run's event log."""
        return self.graph_run(env, ["--partition", day])

    def graph_range(self, env: dict, days: list[str]) -> dict:
        """Every one of ``days`` (registered in that order) in one run through the CLI."""
        return self.graph_run(env, ["--partition-range", f"{days[0]}...{days[-1]}"])

    def graph_run(self, env: dict, partitions: list[str]) -> dict:
        """One run of the whole graph through the CLI; seconds per stage from its event log."""
        import dagster as dg

        seconds, peak = timed(
            [DAGSTER, "asset", "materialize", "-m", "roles_assets", "--select", "*", *partitions],
            env,
        )
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            (run,) = instance.get_runs(limit=1)
            starts, stages = {}, {}
            for record in instance.all_logs(run.run_id):
                event = record.dagster_event
                if event is None or event.step_key is None:
                    continue
                if event.event_type_value == "STEP_START":
                    starts[event.step_key] = record.timestamp
                elif event.event_type_value == "STEP_SUCCESS":
                    stages[event.step_key] = record.timestamp - starts[event.step_key]
            raw = instance.get_latest_materialization_event(dg.AssetKey("raw_roles"))
            spark_start = raw.asset_materialization.metadata["spark_session_seconds"].value
        checks = sum(
            v
            for k, v in stages.items()
            if k not in ("landed_day", "raw_roles", "staging_tables", "final_tables")
        )
        return {
            "total": seconds,
            "peak_mib": peak,
            "spark_session_start": spark_start,
            "read_parse_raw_write": stages["raw_roles"] - spark_start,
            # Validation and dedup are lazy: they run inside the staging writes.
            "validate_dedup_stage_write": stages["staging_tables"],
            "final_apply": stages["final_tables"],
            "asset_checks": checks,
            "dagster_cli_overhead": seconds - sum(stages.values()),
        }

    def history(self, landing: Path, days: list[str], measured: list[str], home: str) -> dict:
        """Loads ``days`` in order into a fresh database: the ``measured`` ones through the
        graph (their stages), the others by the floor (the same apply, without Spark or
        Dagster: only the state they leave matters). Returns the measured days' stages and the
        environment, for more runs on the same history."""
        from roles_assets.resources.postgres import PostgresResource

        env = self.env(landing, self.fresh_database(), self.work / home)
        postgres = PostgresResource(database_url=env["ROLES_DATABASE_URL"])
        postgres.migrate()  # the floor's days may come before any run
        stages = {}
        for day in days:
            if day in measured:
                stages[day] = self.graph_day(env, day)
            else:
                floor.load_day(postgres, landing / day)
        return {"env": env, "days": stages}

    def floor_day(self, day_dir: Path) -> float:
        from roles_assets.resources.postgres import PostgresResource

        postgres = PostgresResource(database_url=self.fresh_database())
        postgres.migrate()  # the schema is not part of the timing
        start = time.perf_counter()
        floor.load_day(postgres, day_dir)
        return time.perf_counter() - start

    def dlt_day(self, day_dir: Path) -> float:
        url, pipelines = self.fresh_database(), self.work / f"dlt_{self.databases}"
        args = [sys.executable, "-m", "bench.peer_dlt", url, str(day_dir), str(pipelines)]
        return timed(args, dict(os.environ))[0]


STAGES = [
    "spark_session_start",
    "read_parse_raw_write",
    "validate_dedup_stage_write",
    "final_apply",
    "asset_checks",
    "dagster_cli_overhead",
]


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--roles", type=int, default=100_000, help="roles in the large day")
    parser.add_argument("--history-roles", type=int, default=20_000)
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--year-roles", type=int, default=30, help="a small team's roles")
    parser.add_argument("--year-days", type=int, default=365, help="days of the small team")
    parser.add_argument(
        "--range-days", type=int, default=30, help="small days loaded in one run and in one each"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--spark-remote",
        metavar="sc://HOST:PORT",
        help="the Connect figures on this running Spark Connect server on this machine (it "
        "reaches the bench's PostgreSQL and files there, and holds the PostgreSQL JDBC driver), "
        "taken as warm; by default the bench starts and warms one of its own",
    )
    parser.add_argument("--ten-x", action="store_true", help="also load 10x the large day once")
    parser.add_argument(
        "--out", type=Path, default=PROJECT_DIR / ".local" / "bench" / "results.json"
    )
    args = parser.parse_args()
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # no usage reports from dlt

    from roles_assets_dev import local_postgres

    work = Path(tempfile.mkdtemp(prefix="roles-bench-"))
    work.chmod(0o755)
    port = free_port()
    local_postgres.start(work / "pg", port)
    # dlt insists on a password: everything connects as a password user (the server trusts
    # loopback anyway).
    admin_url = f"postgresql://bench:bench@127.0.0.1:{port}/postgres"
    import psycopg2

    conn = psycopg2.connect(f"postgresql://{local_postgres.USER}@127.0.0.1:{port}/postgres")
    conn.autocommit = True
    conn.cursor().execute("CREATE ROLE bench LOGIN SUPERUSER PASSWORD 'bench'")
    conn.close()
    bench = Bench(work, admin_url)
    # Whether a server was given, not its address: a Connect URL may carry a token.
    scale = vars(args) | {"out": str(args.out), "spark_remote": bool(args.spark_remote)}
    results: dict = {"scale": scale}
    try:
        results.update(run_all(bench, args))
    finally:
        local_postgres.stop(work / "pg")
        shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print_report(results)
    print(f"\nfigures written to {args.out}")
    return 0


def day_2_and_last(day_2: dict, last: dict) -> dict:
    """Two days of one history: their totals, and their apply and checks (the stages whose
    cost could grow with the history)."""
    return {
        "day_2": day_2["total"],
        "last_day": last["total"],
        "apply_and_checks_day_2": day_2["final_apply"] + day_2["asset_checks"],
        "apply_and_checks_last_day": last["final_apply"] + last["asset_checks"],
    }


def run_all(bench: Bench, args) -> dict:
    r = args.repeats
    out: dict = {}
    out["spark_start_stop"] = statistics.median(bench.spark_start_stop() for _ in range(r))
    out["spark_start_stop_no_class_archive"] = statistics.median(
        bench.spark_start_stop(class_archive=False) for _ in range(r)
    )
    out["spark_start_stop_pyspark_defaults"] = statistics.median(
        bench.spark_start_stop(pyspark_defaults=True) for _ in range(r)
    )
    out["dagster_floor"] = statistics.median(bench.dagster_floor() for _ in range(r))

    large = bench.work / "large"
    (day,) = generate.generate(large, args.roles, 1)
    graph_runs = [
        bench.graph_day(
            bench.env(large, bench.fresh_database(), bench.work / f"home_large_{i}"), day
        )
        for i in range(r)
    ]
    out["large_day"] = {
        "assignments": args.roles * generate.AGENTS_PER_ROLE,
        "graph": median_of(graph_runs),
        "floor": statistics.median(bench.floor_day(large / day) for _ in range(r)),
        "dlt_merge": statistics.median(bench.dlt_day(large / day) for _ in range(r)),
    }

    # Day 1 is measured nowhere: the floor loads it.
    history = bench.work / "history"
    days = generate.generate(history, args.history_roles, args.history_days)
    loaded = bench.history(history, days, measured=days[1:], home="home_history")
    out["history"] = {
        **day_2_and_last(loaded["days"][days[1]], loaded["days"][days[-1]]),
        "backfill_old_day": bench.graph_day(loaded["env"], days[len(days) // 2])["total"],
    }
    # A year of a small team's days: only day 2 and the last one run through the graph, unless
    # the range's runs of one day each already loaded the whole year through it.
    year = bench.work / "year"
    year_days = generate.small_team(year, args.year_roles, args.year_days)
    out["ranges"], one_each = run_ranges(bench, args, year, year_days)
    if len(one_each) < len(year_days):
        measured = [year_days[1], year_days[-1]]
        one_each = bench.history(year, year_days, measured=measured, home="home_year")["days"]
    out["year"] = {
        "roles": args.year_roles,
        "days": args.year_days,
        **day_2_and_last(one_each[year_days[1]], one_each[year_days[-1]]),
    }

    sample = PROJECT_DIR / "data" / "landing"
    sample_env = bench.env(sample, bench.fresh_database(), bench.work / "home_sample")
    out["sample_day_cli"] = statistics.median(
        bench.graph_day(sample_env, SAMPLE_DAY)["total"] for _ in range(r)
    )
    out["sample_day_dlt"] = statistics.median(bench.dlt_day(sample / SAMPLE_DAY) for _ in range(r))
    out["connect"] = run_on_spark_connect(bench, args, large, day)

    if args.ten_x:
        big = bench.work / "ten_x"
        (big_day,) = generate.generate(big, args.roles * 10, 1)
        try:
            out["ten_x_day"] = bench.graph_day(
                bench.env(big, bench.fresh_database(), bench.work / "home_10x"), big_day
            )
        except RuntimeError as error:  # a failure at 10x is a finding to report, not a crash
            out["ten_x_day"] = {"error": str(error)[-2000:]}
    return out


def run_ranges(bench: Bench, args, year: Path, year_days: list[str]) -> tuple[dict, dict]:
    """A backfill of the small team's days as one range run against one run per day, each on a
    fresh database: --range-days of them both ways, and the whole year in one run. Also returns
    the stages of each day's own run."""
    days = year_days[: args.range_days]

    def fresh(name: str) -> dict:
        return bench.env(year, bench.fresh_database(), bench.work / name)

    env = fresh("home_one_run_each")
    one_each = {day: bench.graph_day(env, day) for day in days}
    runs = [stages["total"] for stages in one_each.values()]
    in_one_run = bench.graph_range(fresh("home_range"), days)
    figures = {
        "days": len(days),
        "one_day": statistics.median(runs),
        "one_run_each": sum(runs),
        "in_one_run": in_one_run,
        "year_days": len(year_days),
        "year_in_one_run": in_one_run
        if days == year_days
        else bench.graph_range(fresh("home_year_range"), year_days),
        "year_dagster_floor": bench.dagster_floor(range_days=len(year_days)),
    }
    return figures, one_each


def run_on_spark_connect(bench: Bench, args, large: Path, large_day: str) -> dict:
    """The sample and the large day on a warm Spark Connect server (as `make dev` runs them):
    the running one of --spark-remote as it is, or else a server of the bench's own, warmed by
    a first run."""
    from roles_assets.resources.spark import jdbc_driver_jar
    from roles_assets_dev.spark_connect import SparkConnectServer

    server = None
    if not args.spark_remote:
        server = SparkConnectServer(bench.work / "connect", free_port(), jdbc_driver_jar())
        server.start()
    url = args.spark_remote or server.url
    sample = PROJECT_DIR / "data" / "landing"

    def on_server(landing: Path, name: str) -> dict:
        env = bench.env(landing, bench.fresh_database(), bench.work / f"home_connect_{name}")
        return env | {"ROLES_SPARK_REMOTE": url}

    try:
        if server is not None:  # the new server's first jobs compile
            bench.graph_day(on_server(sample, "warm_up"), SAMPLE_DAY)
        sample_runs = [
            bench.graph_day(on_server(sample, f"sample_{i}"), SAMPLE_DAY)
            for i in range(args.repeats)
        ]
        large_runs = [
            bench.graph_day(on_server(large, f"large_{i}"), large_day) for i in range(args.repeats)
        ]
    finally:
        if server is not None:
            server.stop()
    return {"sample_day": median_of(sample_runs), "large_day": median_of(large_runs)}


def _growth_rows(name: str, figures: dict, last: str) -> list[tuple[str, float, str]]:
    """Day 2 and the last day of a history, in total and in apply and checks."""
    day_2, apply_2 = figures["day_2"], figures["apply_and_checks_day_2"]
    apply_last = figures["apply_and_checks_last_day"]
    return [
        (f"{name}: day 2", day_2, ""),
        (
            f"{name}: {last}",
            figures["last_day"],
            f"{figures['last_day'] / day_2:.2f}x day 2 (target <= 1.2)",
        ),
        ("  final apply + asset checks, day 2", apply_2, ""),
        (f"  final apply + asset checks, {last}", apply_last, f"{apply_last / apply_2:.2f}x day 2"),
    ]


def print_report(results: dict) -> None:
    spark = results["spark_start_stop"]
    large = results["large_day"]
    graph = large["graph"]
    rows = [
        ("bare Spark session start + stop", spark, "the graph's local settings"),
        (
            "  the same without the class archive",
            results["spark_start_stop_no_class_archive"],
            "what the archive saves each local run",
        ),
        ("  the same with pyspark's defaults", results["spark_start_stop_pyspark_defaults"], ""),
        (
            "Dagster CLI floor (one asset that does nothing)",
            results["dagster_floor"],
            f"{results['dagster_floor'] / spark:.2f}x bare Spark",
        ),
        (
            f"large day, graph ({large['assignments']:,} assignments)",
            graph["total"],
            f"{graph['total'] / (large['floor'] + spark):.2f}x floor+Spark (target <= 1.5)",
        ),
        ("  Spark session start", graph["spark_session_start"], ""),
        ("  read, parse, raw Parquet write", graph["read_parse_raw_write"], ""),
        ("  validate, dedup, staging write", graph["validate_dedup_stage_write"], ""),
        ("  final apply", graph["final_apply"], ""),
        ("  asset checks", graph["asset_checks"], ""),
        ("  CLI, definitions, run start and stop", graph["dagster_cli_overhead"], ""),
        ("large day, floor (Python + COPY + SQL)", large["floor"], ""),
        (
            "large day, dlt merge",
            large["dlt_merge"],
            f"graph is {large['dlt_merge'] / graph['total']:.2f}x faster (target >= 2)",
        ),
        *_growth_rows("history", results["history"], "last day"),
        (
            "history: backfill of an old day",
            results["history"]["backfill_old_day"],
            "a replay of every day",
        ),
        *_growth_rows(
            f"year ({results['year']['roles']} roles)",
            results["year"],
            f"day {results['year']['days']}",
        ),
        (
            "sample day via CLI",
            results["sample_day_cli"],
            f"{results['sample_day_cli'] / spark:.2f}x bare Spark (target <= 1.8)",
        ),
        ("sample day, dlt merge", results["sample_day_dlt"], ""),
    ]
    ranges = results["ranges"]
    one_day, n = ranges["one_day"], ranges["days"]
    rows += [
        (f"{n} small days, one run each", ranges["one_run_each"], f"median run {one_day:.2f}"),
        (
            f"{n} small days in one run",
            ranges["in_one_run"]["total"],
            f"{ranges['in_one_run']['total'] / one_day:.2f}x one day's run (target <= 3)",
        ),
        *((f"  {name.replace('_', ' ')}", ranges["in_one_run"][name], "") for name in STAGES),
        (
            f"{ranges['year_days']} small days in one run",
            ranges["year_in_one_run"]["total"],
            f"{ranges['year_in_one_run']['total'] / one_day:.2f}x one day's run (target <= 10); "
            f"one run each would be about {ranges['year_days'] * one_day:,.0f} s",
        ),
        *((f"  {name.replace('_', ' ')}", ranges["year_in_one_run"][name], "") for name in STAGES),
        (
            f"  Dagster floor: the graph's shape doing nothing, {ranges['year_days']} days",
            ranges["year_dagster_floor"],
            f"{ranges['year_dagster_floor'] / one_day:.2f}x one day's run",
        ),
    ]
    connect = results["connect"]
    connect_sample, connect_large = connect["sample_day"], connect["large_day"]
    rows += [
        (
            "sample day via CLI, warm Spark Connect",
            connect_sample["total"],
            f"{connect_sample['total'] / spark:.2f}x bare Spark (target <= 0.5), "
            f"{connect_sample['total'] / results['sample_day_dlt']:.2f}x dlt (target <= 2)",
        ),
        *((f"  {name.replace('_', ' ')}", connect_sample[name], "") for name in STAGES),
        (
            "large day, graph on warm Spark Connect",
            connect_large["total"],
            f"{connect_large['total'] / large['floor']:.2f}x floor (target <= 2)",
        ),
        *((f"  {name.replace('_', ' ')}", connect_large[name], "") for name in STAGES),
    ]
    if "ten_x_day" in results and "error" in results["ten_x_day"]:
        rows.append(
            (
                "10x large day",
                float("nan"),
                "FAILED: " + results["ten_x_day"]["error"].splitlines()[-1],
            )
        )
    elif "ten_x_day" in results:
        ten = results["ten_x_day"]["total"]
        rows.append(("10x large day", ten, f"{ten / graph['total']:.2f}x large day (target <= 11)"))
    print(f"\n{'measure':48} {'seconds':>9}  ratio")
    for name, seconds, ratio in rows:
        print(f"{name:48} {seconds:9.2f}  {ratio}")
    print(
        f"\nlarge day: {large['assignments'] / graph['total']:,.0f} assignments/s through the "
        "graph, "
        f"peak memory {graph['peak_mib']:,.0f} MiB (all processes)"
    )


if __name__ == "__main__":
    sys.exit(main())
