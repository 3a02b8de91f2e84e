"""Pure PySpark transforms: DataFrames in, DataFrames out. No Dagster, no PostgreSQL."""
