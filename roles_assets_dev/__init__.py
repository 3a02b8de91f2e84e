"""Developer tooling behind `make setup`, `make run` and `make dev`; never shipped in the wheel.

The code location (``roles_assets``) imports nothing from here: a deployment installs the wheel
and brings its own PostgreSQL, Dagster instance and landing folder.
"""
