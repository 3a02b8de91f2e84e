"""Landed files -> one row per record, with its original JSON and the file it came from.

A file holds a JSON array of records, an object wrapping them (``{"roles": [...]}`` or
``{"agents": [...]}``) or a single record object. A file that is not UTF-8 JSON of one of those
shapes becomes a single row with ``file_error`` set and its text kept in ``unreadable_file``.
Each record is kept as parsed, a VARIANT: its original JSON values, with their JSON types.
"""

import os
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from roles_assets.rules import MAX_KEPT_FILE_TEXT

FILES_SCHEMA = T.StructType(
    [
        T.StructField("sync_day", T.StringType(), False),
        T.StructField("source_folder", T.StringType(), False),
        T.StructField("source_file", T.StringType(), False),
        T.StructField("content", T.BinaryType(), True),
    ]
)

RAW_SCHEMA = T.StructType(
    [
        T.StructField("sync_day", T.StringType(), False),
        T.StructField("source_folder", T.StringType(), False),
        T.StructField("source_file", T.StringType(), False),
        T.StructField("record_index", T.IntegerType(), True),
        T.StructField("record", T.VariantType(), True),
        T.StructField("unreadable_file", T.StringType(), True),
        T.StructField("file_error", T.StringType(), True),
    ]
)


def read_files(spark: SparkSession, paths: list[str]) -> DataFrame:
    """The files' bytes, named ``<folder>/<file>`` after the last two parts of their path, of
    the sync day the part before them names (``<day>/<folder>/<file>``)."""
    # Spark's file sources skip zero-byte files; they must still become MALFORMED_JSON rows.
    empty = [Path(path) for path in paths if os.path.getsize(path) == 0]
    empty_files = spark.createDataFrame(
        [
            (p.parent.parent.name, p.parent.name, f"{p.parent.name}/{p.name}", bytearray())
            for p in empty
        ],
        FILES_SCHEMA,
    )
    non_empty = [path for path in paths if Path(path) not in empty]
    if not non_empty:
        return empty_files
    files = spark.read.format("binaryFile").load(non_empty)
    return files.select(
        F.regexp_extract("path", r"([^/]+)/[^/]+/[^/]+$", 1).alias("sync_day"),
        F.regexp_extract("path", r"([^/]+)/[^/]+$", 1).alias("source_folder"),
        F.regexp_extract("path", r"[^/]+/[^/]+$", 0).alias("source_file"),
        "content",
    ).unionByName(empty_files)


def _records() -> Column:
    """The records of the parsed ``doc``: NULL when its top level has none of the accepted
    shapes."""
    return F.coalesce(
        F.expr("try_variant_get(doc, '$', 'array<variant>')"),
        F.expr("try_variant_get(doc, '$.roles', 'array<variant>')"),
        F.expr("try_variant_get(doc, '$.agents', 'array<variant>')"),
        F.when(F.expr("schema_of_variant(doc) LIKE 'OBJECT%'"), F.array("doc")),
    )


def parse_records(files: DataFrame) -> DataFrame:
    """Files (``FILES_SCHEMA``) -> records (``RAW_SCHEMA``), in file then record order."""
    return _one_row_per_record(_with_file_error(_decoded(files)))


def _decoded(files: DataFrame) -> DataFrame:
    """Each file's text and its one JSON document (``doc``), NULL when it is not exactly one."""
    text = F.expr("make_valid_utf8(CAST(content AS STRING))")
    return files.select(
        "sync_day",
        "source_folder",
        "source_file",
        text.alias("text"),
        F.expr("is_valid_utf8(CAST(content AS STRING))").alias("is_utf8"),
        # Spark's parser stops after the first JSON value and ignores the rest of the text, so
        # the text is parsed as the one element of an array: anything after the first value
        # is then a syntax error or a second element. A leading byte-order mark is legal in
        # UTF-8 files but not in JSON.
        F.expr(
            "try_parse_json('[' || regexp_replace(CAST(content AS STRING), '^\\uFEFF', '') || ']')"
        ).alias("documents"),
    ).select(
        "*",
        F.expr(
            "CASE WHEN array_size(try_variant_get(documents, '$', 'array<variant>')) = 1"
            " THEN variant_get(documents, '$[0]') END"
        ).alias("doc"),
    )


def _with_file_error(decoded: DataFrame) -> DataFrame:
    """Each file's records, or why it has none (``file_error``)."""
    return decoded.select(
        "sync_day",
        "source_folder",
        "source_file",
        "text",
        _records().alias("records"),
        F.when(~F.col("is_utf8"), F.lit("file is not valid UTF-8"))
        .when(F.col("text").rlike(r"^\s*$"), F.lit("file is empty"))
        .when(
            F.col("doc").isNull(),
            F.lit(
                "file is not valid JSON, holds more than one JSON value, or breaks a parser "
                "limit (duplicate keys, NaN, very deep nesting, a string over 20 MB)"
            ),
        )
        .when(
            _records().isNull(),
            F.lit(
                'top level must be an array of records, an object with a "roles" list, '
                "or a single record object"
            ),
        )
        .alias("file_error"),
    )


def _one_row_per_record(parsed: DataFrame) -> DataFrame:
    """A row per record of a readable file, and one row with its text per unreadable file."""
    exploded = parsed.select(
        "sync_day",
        "source_folder",
        "source_file",
        "text",
        "file_error",
        F.posexplode_outer(F.when(F.col("file_error").isNull(), F.col("records"))).alias(
            "record_index", "record"
        ),
    )
    return exploded.where(
        F.col("record_index").isNotNull() | F.col("file_error").isNotNull()
    ).select(
        "sync_day",
        "source_folder",
        "source_file",
        F.col("record_index").cast("int").alias("record_index"),
        # Kept as VARIANT so validation sees JSON types as parsed: 12.0 stays a decimal.
        "record",
        F.when(
            F.col("file_error").isNotNull(),
            F.to_json(
                F.struct(
                    F.substring("text", 1, MAX_KEPT_FILE_TEXT).alias("file_text"),
                    F.length("text").alias("file_chars"),
                )
            ),
        ).alias("unreadable_file"),
        "file_error",
    )


def record_fields(raw: DataFrame) -> DataFrame:
    """Raw records (``RAW_SCHEMA``) -> each top-level field name each day's records carry, per
    source folder (``sync_day``, ``source_folder``, ``field``), once. Read from the VARIANT
    values themselves: rendering a million records as JSON text to list their keys costs as
    much as parsing them."""
    fields = raw.lateralJoin(raw.sparkSession.tvf.variant_explode(F.col("record").outer()))
    # An array element has no key: only objects' fields count.
    return (
        fields.where(F.col("key").isNotNull())
        .select("sync_day", "source_folder", F.col("key").alias("field"))
        .distinct()
    )
