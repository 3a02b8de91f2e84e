"""What the Dagster UI shows: descriptions, code versions, column schemas matching the database."""

import shutil
from pathlib import Path

import dagster as dg
import psycopg2

import roles_assets
from roles_assets.code_version import CODE_VERSION, source_digest
from roles_assets.definitions import defs
from roles_assets.resources.postgres import PostgresResource
from roles_assets.resources.staging_io import sample_table
from roles_assets.ui_metadata import TABLES, table_metadata
from roles_assets.warehouse.sql import SQL_DIR
from roles_assets_dev import local_postgres
from roles_assets_tests.helpers import ASSETS, POSTGRES_ASSETS


def asset_nodes():
    graph = defs().resolve_asset_graph()
    return graph, {key.to_user_string(): graph.get(key) for key in graph.get_all_asset_keys()}


def test_every_asset_has_a_description_and_a_code_version():
    _, nodes = asset_nodes()
    assert set(nodes) == set(ASSETS)
    for name, node in nodes.items():
        assert node.description, name
        assert node.code_version and len(node.code_version) == 12, name


def test_every_check_has_a_description_and_a_code_version():
    graph, _ = asset_nodes()
    assert len(graph.asset_check_keys) == 15
    for key in graph.asset_check_keys:
        spec = graph.get_check_spec(key)
        assert spec.description, key.name
        assert len(spec.metadata["code_version"]) == 12, key.name


def test_postgres_assets_declare_their_table_and_columns():
    _, nodes = asset_nodes()
    for asset, table in POSTGRES_ASSETS.items():
        metadata = nodes[asset].metadata
        assert metadata["dagster/table_name"] == table
        schema = metadata["dagster/column_schema"]
        assert isinstance(schema, dg.TableSchema)
        assert [c.name for c in schema.columns] == [c.name for c in TABLES[table].columns]
        assert all(c.description for c in schema.columns)
    mapping = nodes["agent_role_mapping"].metadata["dagster/column_schema"]
    assert mapping.constraints.other == ["PRIMARY KEY (agent_id, role_id)"]
    roles = {c.name: c for c in nodes["roles"].metadata["dagster/column_schema"].columns}
    assert roles["role_id"].constraints == dg.TableColumnConstraints(nullable=False, unique=True)


def test_raw_roles_declares_its_parquet_schema_and_storage():
    _, nodes = asset_nodes()
    metadata = nodes["raw_roles"].metadata
    columns = {c.name: c.type for c in metadata["dagster/column_schema"].columns}
    assert columns["record"] == "variant" and columns["source_file"] == "string"
    assert metadata["dagster/uri"].endswith("/raw_roles")
    assert nodes["landed_day"].metadata["dagster/uri"].startswith("/")


def test_the_column_schema_matches_the_database(pg_admin_url):
    database_url = local_postgres.create_database(pg_admin_url, "ui_metadata_schema")
    conn = psycopg2.connect(database_url)
    try:
        PostgresResource(database_url=database_url).migrate()
        with conn, conn.cursor() as cur:
            for table in TABLES.values():
                cur.execute(
                    "SELECT column_name, upper(data_type), is_nullable = 'YES'"
                    " FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name = %s"
                    " ORDER BY ordinal_position",
                    (table.name,),
                )
                actual = cur.fetchall()
                declared = [
                    (c.name, c.type.replace("TIMESTAMP", "TIMESTAMP WITHOUT TIME ZONE"), c.nullable)
                    for c in table.columns
                ]
                assert actual == declared, table.name
                # Every declared key is one PostgreSQL enforces: a primary key or unique index
                # (partial ones, such as one open history interval per pair, are rules, not keys).
                cur.execute(
                    "SELECT i.indisprimary, array_agg(a.attname::text ORDER BY k.n)"
                    " FROM pg_index i"
                    " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
                    " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
                    " WHERE i.indrelid = %s::regclass AND i.indisunique AND i.indpred IS NULL"
                    " GROUP BY i.indexrelid, i.indisprimary",
                    (table.name,),
                )
                enforced = {(primary, tuple(cols)) for primary, cols in cur.fetchall()}
                expected = {(True, table.primary_key)} if table.primary_key else set()
                expected |= {(False, key) for key in table.unique_keys}
                assert enforced == expected, table.name
    finally:
        conn.close()


def test_the_code_version_covers_every_module_and_sql_file(tmp_path):
    """A copy of the package and its SQL, laid out as a checkout or as a wheel, gives the same
    version; editing any file changes it."""
    code, sql = tmp_path / "roles_assets", tmp_path / "sql"
    shutil.copytree(Path(roles_assets.__file__).parent, code, ignore=shutil.ignore_patterns("sql"))
    shutil.copytree(SQL_DIR, sql)
    assert source_digest(code, sql) == CODE_VERSION
    wheel = tmp_path / "wheel"
    shutil.copytree(code, wheel)
    shutil.copytree(SQL_DIR, wheel / "sql")
    assert source_digest(wheel, wheel / "sql") == CODE_VERSION
    versions = {CODE_VERSION}
    for edited in [
        code / "transforms" / "validate.py",
        code / "rules.py",
        sql / "upsert_roles.sql",
        sql / "checks" / "rejection_rate.sql",
        sql / "schema" / "001_initial.sql",
    ]:
        edited.write_bytes(edited.read_bytes() + b"\n")
        version = source_digest(code, sql)
        assert version not in versions, edited
        versions.add(version)


def test_a_sample_table_keeps_the_sampled_columns_order_and_their_declared_types():
    schema = table_metadata("role_pipeline_errors")["dagster/column_schema"]
    table = sample_table(schema, ["error_type", "role_id"], [("MISSING_NAME", 7), ("x|y", None)])
    assert [(c.name, c.type, bool(c.description)) for c in table.schema.columns] == [
        ("error_type", "TEXT", True),
        ("role_id", "BIGINT", True),
    ]
    assert [r.data for r in table.records] == [
        {"error_type": "MISSING_NAME", "role_id": 7},
        {"error_type": "x|y", "role_id": None},
    ]
