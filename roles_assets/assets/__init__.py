"""The graph's assets, one module per step."""

# The heavy steps take a slot of this pool: raw_roles and the staging pass (a Spark session's
# work) and the final apply (the warehouse's one big transaction a day). Its limit, in the
# instance's dagster.yaml, bounds how many of them run at once across all runs (a backfill too).
LOAD_POOL = "roles_load"
