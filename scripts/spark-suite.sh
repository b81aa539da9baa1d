#!/usr/bin/env bash
# The differential suite of `spelunk sql --dialect spark`: every case of tests/sql_duckdb.rs's
# traps, the generated events and both seed detections over the samples and the shared CloudTrail
# folders, run through Spark SQL in local mode (PySpark installed into target/spark-venv on first
# use; Spark needs Java 17 or later). Prints `N passed, N failed` and the time it took.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
cargo test --release --test sql_duckdb -- --ignored --nocapture spark_rows_equal_spelunks_rows
echo "spark suite: $(( $(date +%s) - start )) s"
