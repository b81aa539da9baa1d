#!/usr/bin/env python3
"""Run SQL statements in DuckDB and print their rows as JSON (for tests/sql_duckdb.rs).

Reads {"name": "statement", ...} on standard input; writes {"name": {"columns": [...], "rows":
[[...], ...]} or {"error": "..."}} with every value as the text spelunk's CSV gives it (NULL: "").
"""

import json
import sys

import duckdb


def text(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def main():
    statements = json.load(sys.stdin)
    out = {}
    con = duckdb.connect(config={"threads": 2})
    for name, sql in statements.items():
        try:
            cur = con.execute(sql)
            cols = [d[0] for d in cur.description]
            rows = [[text(v) for v in r] for r in cur.fetchall()]
            out[name] = {"columns": cols, "rows": rows}
        except Exception as e:  # the test reports the case as failed, with DuckDB's message
            out[name] = {"error": f"{type(e).__name__}: {e}"}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
