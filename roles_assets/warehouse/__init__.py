"""PostgreSQL, no Dagster, no Spark: what a day does to the tables.

``sql`` holds the few statements composed in many places, ``staging`` the per-day staging
partitions, ``apply`` both apply paths of a staged day into the final tables.
"""
