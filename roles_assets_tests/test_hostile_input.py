"""Hostile and odd input: each file is loaded correctly or quarantined with a defined
error_type, and the run completes. docs/operations.md's "What happens when things go wrong" lists
the same outcomes."""

import json

from roles_assets_tests.helpers import role, write_day

DAY = "2026-03-01"

# file name -> (content, the error rows it must produce)
HOSTILE_FILES = {
    "a_bom.json": ("\ufeff" + json.dumps([role(1, "bom")]), []),
    "b_invalid_utf8.json": (b'[{"id": 2, "name": "\xff\xfe"}]', ["MALFORMED_JSON"]),
    "c_nan.json": ('[{"id": 3, "name": "x", "agent_type": NaN}]', ["MALFORMED_JSON"]),
    "d_infinity.json": ('[{"id": 3, "name": "x", "agent_type": Infinity}]', ["MALFORMED_JSON"]),
    "e_duplicate_key.json": ('[{"id": 4, "name": "x", "name": "y"}]', ["MALFORMED_JSON"]),
    "f_deep.json": (
        '[{"id": 5, "name": "x", "description": ' + "[" * 5000 + "]" * 5000 + "}]",
        ["MALFORMED_JSON"],
    ),
    "g_huge_string.json": (json.dumps([role(6, description="x" * 50_000_000)]), ["MALFORMED_JSON"]),
    "h_ids.json": (
        json.dumps(
            [
                role(2**63),
                role(-1),
                role(0),
                role(7.5),
                role("8"),
                role(9, agent_ids=[2**64, -2, 0, 1.5, 10]),
            ]
        ),
        ["INVALID_ROLE_ID"] * 4 + ["INVALID_AGENT_ID"] * 4,
    ),
    "i_boolean_strings.json": (
        json.dumps([role(11, default="false"), role(12, default="maybe")]),
        ["INVALID_VALUE"],
    ),
    "j_empty.json": ("", ["MALFORMED_JSON"]),
    "k_whitespace.json": (" \n\t \n", ["MALFORMED_JSON"]),
    "l_not_json.json": ("id,name\n1,admin\n", ["MALFORMED_JSON"]),
    # Spark's parser would read the first value and ignore the rest: roles 13-15 must not load.
    "m_trailing_text.json": (json.dumps([role(13)]) + " and more", ["MALFORMED_JSON"]),
    "n_two_documents.json": (
        json.dumps([role(14)]) + "\n" + json.dumps([role(15)]),
        ["MALFORMED_JSON"],
    ),
}


def test_hostile_files_are_loaded_or_quarantined_and_the_run_completes(graph, landing):
    files = {f"admin_roles/{name}": content for name, (content, _) in HOSTILE_FILES.items()}
    files["admin_roles/notes.txt"] = "not a .json file: ignored"
    files["admin_roles/sub/inner.json"] = json.dumps([role(90)])  # sub-folders are ignored
    day_dir = write_day(landing, DAY, roles=[role(100, "plain")], files=files)
    outside = landing.parent / "outside.json"
    outside.write_text(json.dumps([role(91)]))
    (day_dir / "admin_roles" / "z_link.json").symlink_to(outside)  # symlinks are ignored

    result = graph.run(DAY)

    assert result.success
    assert [r for (r,) in graph.query("SELECT role_id FROM stg_roles ORDER BY 1")] == [
        1,
        8,
        9,
        11,
        12,
        100,
    ]
    assert graph.query(
        "SELECT role_id, is_default FROM roles WHERE role_id IN (11, 12) ORDER BY 1"
    ) == [
        (11, False),
        (12, None),
    ]
    assert graph.query("SELECT agent_id FROM agent_role_mapping WHERE role_id = 9") == [(10,)]
    errors = graph.query("SELECT source_file, error_type FROM role_pipeline_errors ORDER BY id")
    by_file = {}
    for source_file, error_type in errors:
        by_file.setdefault(source_file.split("/")[1], []).append(error_type)
    assert {name: sorted(types) for name, types in by_file.items()} == {
        name: sorted(expected) for name, (_, expected) in HOSTILE_FILES.items() if expected
    }
    (huge,) = graph.query(
        "SELECT raw_record->>'file_chars', length(raw_record->>'file_text')"
        " FROM role_pipeline_errors"
        " WHERE source_file = 'admin_roles/g_huge_string.json'"
    )
    assert int(huge[0]) > 50_000_000 and huge[1] == 1_000_000
