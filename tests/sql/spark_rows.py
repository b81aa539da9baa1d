#!/usr/bin/env python3
"""Run SQL statements in Spark SQL (local mode) and print their rows as JSON (for tests/sql_duckdb.rs).

Reads {"name": "statement", ...} on standard input; writes {"name": {"columns": [...], "rows":
[[...], ...]} or {"error": "..."}} with every value as the text spelunk's CSV gives it (NULL: "").
The session's time zone is set away from UTC, and backslashes in literals are read as written (not
the default), on purpose: the statements must not depend on either.
"""

import json
import shutil
import tempfile
import sys

from pyspark.sql import SparkSession


def text(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def main():
    statements = json.load(sys.stdin)
    warehouse = tempfile.mkdtemp(prefix="spelunk-spark-warehouse-")
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.sql.session.timeZone", "America/New_York")
        # the statements read the same under either reading of backslashes in literals
        .config("spark.sql.parser.escapedStringLiterals", "true")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=Asia/Tokyo")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("OFF")
    out = {}
    for name, sql in statements.items():
        try:
            df = spark.sql(sql)
            cols = df.columns
            rows = [[text(v) for v in r] for r in df.collect()]
            out[name] = {"columns": cols, "rows": rows}
        except Exception as e:  # the test reports the case as failed, with Spark's message
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            out[name] = {"error": f"{type(e).__name__}: {first}"}
    spark.stop()
    shutil.rmtree(warehouse, ignore_errors=True)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
