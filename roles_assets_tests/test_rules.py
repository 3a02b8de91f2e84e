"""The error types are one vocabulary: the transforms write exactly the enum's members, and the
SQL reads no other."""

import ast
import re
from pathlib import Path

import pytest

from roles_assets.rules import ErrorType
from roles_assets.warehouse.sql import SQL_DIR

pytestmark = pytest.mark.fast

TRANSFORMS_DIR = Path(__file__).resolve().parent.parent / "roles_assets" / "transforms"
# Upper-case SQL literals that are not error types.
# The time zone, and the statement kinds a trigger tells apart (TG_OP).
OTHER_SQL_WORDS = {"UTC", "INSERT", "UPDATE", "DELETE", "TRUNCATE"}


def sql_literals() -> dict[str, str]:
    """Each upper-case string literal of the SQL files (comments left out) -> a file using it."""
    found = {}
    for path in sorted(SQL_DIR.rglob("*.sql")):
        text = re.sub(r"--[^\n]*", "", path.read_text())
        for word in re.findall(r"'([A-Z][A-Z0-9_]*)'", text):
            found[word] = path.relative_to(SQL_DIR).as_posix()
    return found


def transform_error_types() -> set[str]:
    """The error types the transforms write: the ``ErrorType`` members they name, and any
    upper-case word with an underscore they hold as a string constant."""
    found = set()
    for path in TRANSFORMS_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "ErrorType":
                found.add(node.attr)
            elif isinstance(node, ast.Constant) and re.fullmatch(
                r"[A-Z]+(_[A-Z]+)+", f"{node.value}"
            ):
                found.add(node.value)
    return found


def test_the_sql_reads_only_error_types_of_the_enum():
    literals = sql_literals()
    assert {"MALFORMED_JSON", "INVALID_VALUE"} <= literals.keys()  # the scan finds them
    known = ErrorType.__members__.keys() | OTHER_SQL_WORDS
    assert {word: file for word, file in literals.items() if word not in known} == {}


def test_the_transforms_write_every_error_type_and_no_other():
    assert transform_error_types() == set(ErrorType.__members__)


def test_a_member_is_its_own_name():
    # The stored error_type text is the member's name, so SQL and Python spell it alike.
    assert all(member == name for name, member in ErrorType.__members__.items())
