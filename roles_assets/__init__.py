"""roles_assets: Freshdesk role dumps -> validated, deduplicated PostgreSQL tables.

Importing the package, or any module of it, builds nothing: no settings are read and no Dagster
instance is touched. `dagster ... -m roles_assets` finds ``defs`` here, the ``@dg.definitions``
function of ``definitions.py``, which is imported only when a loader asks for it.
"""

__all__ = ["defs"]


def __getattr__(name: str):
    if name == "defs":
        from roles_assets.definitions import defs

        return defs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    # Dagster's loader lists a module's members through dir().
    return sorted({*globals(), "defs"})
