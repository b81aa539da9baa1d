#!/usr/bin/env python3
"""Helper for scripts/bench.sh (Python 3.11 standard library only).

Subcommands:
  measure OUT CMD...            run CMD (stdout inherited), write "<wall s> <peak RSS KiB>" to OUT,
                                exit with CMD's status; the fallback when /usr/bin/time is missing
                                (the RSS figure has this process's own size as a floor)
  duckdb-code QUERY FORMAT FILE print a Python program that runs QUERY (a..e) over FILE with DuckDB
                                and writes the result as CSV to standard output
  duckdb-sql QUERY FORMAT FILE  print only the SQL
  evtx-build OUT MB SRC...      write an EVTX file of about MB megabytes to OUT from the chunks of the
                                EVTX files SRC (repeated as needed; damaged and unused chunks left out),
                                with its file header's chunk count and CRC fixed up; print its records
  report RAW OUT_MD [HEADER]    turn the raw measurements (TSV) into the Markdown table, print it and
                                write it to OUT_MD (after the text of the file HEADER)
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time

DUCKDB_THREADS = 2
# DuckDB buffers a whole JSON document when format='unstructured' (the Records shape); allow up to 4 GiB.
MAX_OBJECT_SIZE = 4294967295

# ---------------------------------------------------------------------------------------------------
# DuckDB SQL for the benchmark queries.
#
# Column types are declared explicitly (nested keys as STRUCTs) so that DuckDB parses only what the
# query needs. `sourcetype=aws:cloudtrail` holds for every event of the file, so it has no SQL form.
# Splunk search matching is case-insensitive, hence lower()/ILIKE; stats drops rows that lack any
# by-field, hence the IS NOT NULL conditions; stats output is sorted by the by-fields, hence ORDER BY.

_TA_ERROR_CODE = (
    # The AWS add-on's search-time errorCode: the raw one, else "failure" for failed console logins,
    # else "success".
    "coalesce(errorCode, CASE WHEN responseElements.ConsoleLogin = 'Failure' "
    "THEN 'failure' ELSE 'success' END)"
)


def _arn_tail(expr: str) -> str:
    return f"string_split(string_split({expr}, ':')[-1], '/')[-1]"


QUERIES: dict[str, dict[str, object]] = {
    # Seed "Detect API activity from users without MFA" (the lookup aws_service_accounts is empty as
    # shipped, so `search NOT [...]` keeps every event). `user` is simplified to
    # coalesce(userIdentity.userName, sessionIssuer.userName) instead of the add-on's per-eventName rules.
    "a": {
        "columns": {
            "eventTime": "TIMESTAMP",
            "eventName": "VARCHAR",
            "userIdentity": "STRUCT(type VARCHAR, arn VARCHAR, userName VARCHAR, "
            "sessionContext STRUCT(sessionIssuer STRUCT(userName VARCHAR), "
            "attributes STRUCT(mfaAuthenticated VARCHAR)))",
        },
        "sql": """WITH ev AS (
  SELECT eventTime, eventName, userIdentity.arn AS arn, userIdentity.type AS utype,
         coalesce(userIdentity.userName, userIdentity.sessionContext.sessionIssuer.userName) AS "user"
  FROM {src}
  WHERE lower(userIdentity.sessionContext.attributes.mfaAuthenticated) = 'false'
)
SELECT arn AS "userIdentity.arn", utype AS "userIdentity.type", "user", count(*) AS count,
       strftime(min(eventTime), '%Y-%m-%dT%H:%M:%S') AS firstTime,
       strftime(max(eventTime), '%Y-%m-%dT%H:%M:%S') AS lastTime,
       array_to_string(list(DISTINCT eventName ORDER BY eventName), chr(10)) AS eventName
FROM ev
WHERE arn IS NOT NULL AND utype IS NOT NULL AND "user" IS NOT NULL
GROUP BY arn, utype, "user"
ORDER BY arn, utype, "user\"""",
    },
    # Seed "Detect AWS API Activities From Unapproved Accounts" (both lookups empty or absent, so the
    # two `search NOT [...]` keep every event). errorCode and userName as the AWS add-on computes them:
    # userName = userIdentity.userName, else requestParameters.sourceIdentity, else
    # sessionIssuer.userName, else the last part of the caller's ARN (or of requestParameters.roleArn).
    "b": {
        "columns": {
            "eventTime": "TIMESTAMP",
            "eventName": "VARCHAR",
            "errorCode": "VARCHAR",
            "userIdentity": "STRUCT(arn VARCHAR, userName VARCHAR, "
            "sessionContext STRUCT(sessionIssuer STRUCT(userName VARCHAR)))",
            "requestParameters": "STRUCT(sourceIdentity VARCHAR, roleArn VARCHAR)",
            "responseElements": "STRUCT(ConsoleLogin VARCHAR)",
        },
        "sql": """WITH ev AS (
  SELECT eventTime, eventName,
         coalesce(userIdentity.userName, requestParameters.sourceIdentity,
                  userIdentity.sessionContext.sessionIssuer.userName,
                  CASE WHEN userIdentity.arn IS NOT NULL THEN """
        + _arn_tail("userIdentity.arn")
        + """
                       ELSE """
        + _arn_tail("requestParameters.roleArn")
        + """ END) AS "user"
  FROM {src}
  WHERE lower("""
        + _TA_ERROR_CODE
        + """) = 'success'
)
SELECT "user", count(*) AS count,
       strftime(min(eventTime), '%Y-%m-%dT%H:%M:%S') AS firstTime,
       strftime(max(eventTime), '%Y-%m-%dT%H:%M:%S') AS lastTime,
       array_to_string(list(DISTINCT eventName ORDER BY eventName), chr(10)) AS eventName
FROM ev
WHERE "user" IS NOT NULL
GROUP BY "user"
ORDER BY "user\"""",
    },
    # sourcetype=aws:cloudtrail | stats count by eventName   (schema inferred: read_ndjson_auto)
    "c": {
        "columns": None,
        "sql": """SELECT eventName, count(*) AS count
FROM {src}
WHERE eventName IS NOT NULL
GROUP BY eventName
ORDER BY eventName""",
    },
    # sourcetype=aws:cloudtrail eventName=Describe* errorCode!=success NOT userIdentity.type=AssumedRole
    #   awsRegion=us-east-1 | stats count by userIdentity.arn
    "d": {
        "columns": {
            "eventName": "VARCHAR",
            "errorCode": "VARCHAR",
            "awsRegion": "VARCHAR",
            "userIdentity": "STRUCT(type VARCHAR, arn VARCHAR)",
            "responseElements": "STRUCT(ConsoleLogin VARCHAR)",
        },
        "sql": """SELECT userIdentity.arn AS "userIdentity.arn", count(*) AS count
FROM {src}
WHERE eventName ILIKE 'describe%'
  AND lower("""
        + _TA_ERROR_CODE
        + """) <> 'success'
  AND (userIdentity.type IS NULL OR lower(userIdentity.type) <> 'assumedrole')
  AND lower(awsRegion) = 'us-east-1'
  AND userIdentity.arn IS NOT NULL
GROUP BY userIdentity.arn
ORDER BY userIdentity.arn""",
    },
    # sourcetype=aws:cloudtrail | rename userIdentity.arn as arn | fields arn eventName awsRegion
    #   | table _time arn eventName awsRegion
    "e": {
        "columns": {
            "eventTime": "TIMESTAMP",
            "eventName": "VARCHAR",
            "awsRegion": "VARCHAR",
            "userIdentity": "STRUCT(arn VARCHAR)",
        },
        "sql": """SELECT strftime(eventTime, '%Y-%m-%d %H:%M:%S') AS _time, userIdentity.arn AS arn,
       eventName, awsRegion
FROM {src}""",
    },
}


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _columns_literal(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in columns.items()) + "}"


def duckdb_source(query: str, fmt: str, path: str) -> str:
    """The FROM item: one row per event, top-level keys as columns."""
    columns = QUERIES[query]["columns"]
    p = _sql_str(path)
    if fmt == "records":
        # One JSON document {"Records": [...]}: read it whole, then one row per array element.
        if columns is None:
            reader = (f"read_json_auto({p}, format='unstructured', "
                      f"maximum_object_size={MAX_OBJECT_SIZE})")
        else:
            record = "STRUCT(" + ", ".join(f'"{k}" {v}' for k, v in columns.items()) + ")[]"
            reader = (f"read_json({p}, format='unstructured', maximum_object_size={MAX_OBJECT_SIZE}, "
                      f"columns={_columns_literal({'Records': record})})")
        return f"(SELECT unnest(Records, max_depth := 2) FROM {reader})"
    # ndjson and gzipped ndjson (DuckDB decompresses .gz itself)
    if columns is None:
        return f"read_ndjson_auto({p})"
    return f"read_json({p}, format='newline_delimited', columns={_columns_literal(columns)})"


def duckdb_sql(query: str, fmt: str, path: str) -> str:
    return str(QUERIES[query]["sql"]).replace("{src}", duckdb_source(query, fmt, path))


def duckdb_code(query: str, fmt: str, path: str) -> str:
    sql = duckdb_sql(query, fmt, path)
    return (
        "import duckdb\n"
        f"con = duckdb.connect(config={{'threads': {DUCKDB_THREADS}}})\n"
        f"con.execute({('COPY (' + sql + ') TO ' + _sql_str('/dev/stdout') + ' (FORMAT csv, HEADER)')!r})\n"
    )


# ---------------------------------------------------------------------------------------------------
def measure(out: str, cmd: list[str]) -> int:
    t0 = time.monotonic()
    try:
        rc = subprocess.run(cmd).returncode
    except OSError as exc:
        print(f"bench: cannot run {cmd[0]}: {exc}", file=sys.stderr)
        rc = 127
    wall = time.monotonic() - t0
    kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    with open(out, "w", encoding="utf-8") as f:
        f.write(f"{wall:.6f} {kib}\n")
    return rc


# ---------------------------------------------------------------------------------------------------
# Rows that do not read the input: no events/s or MB/s.
NO_THROUGHPUT = {"duckdb start-up"}
RAW_FIELDS = ["tool", "query", "size", "format", "bytes", "events", "run", "wall", "rss_kib", "status"]


def _fmt_num(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def report(raw: str, out_md: str, header: str | None = None) -> int:
    groups: dict[tuple[str, str, str, str], dict[str, object]] = {}
    with open(raw, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != len(RAW_FIELDS) or parts[0] == "tool":
                continue
            row = dict(zip(RAW_FIELDS, parts))
            key = (row["tool"], row["query"], row["size"], row["format"])
            g = groups.setdefault(key, {"bytes": int(row["bytes"]), "events": int(row["events"]),
                                        "walls": [], "rss": 0, "failed": False})
            if row["status"] != "0":
                g["failed"] = True
                continue
            g["walls"].append(float(row["wall"]))  # type: ignore[union-attr]
            g["rss"] = max(int(g["rss"]), int(row["rss_kib"]))  # type: ignore[arg-type]

    duck: dict[tuple[str, str, str], float] = {}
    for (tool, query, size, fmt), g in groups.items():
        if tool == "duckdb" and g["walls"]:
            duck[(query, size, fmt)] = min(g["walls"])  # type: ignore[type-var]

    columns = ["tool", "query", "input", "wall s", "events/s", "MB/s", "peak RSS MB", "× DuckDB"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(["---"] * 2 + ["---"] + ["---:"] * 5) + "|"]
    for (tool, query, size, fmt), g in groups.items():
        nbytes, events = int(g["bytes"]), int(g["events"])  # type: ignore[arg-type]
        inp = f"{size} {fmt} ({nbytes / 1e6:,.0f} MB)"
        tool = tool.replace("|", "\\|")  # a pipe inside a Markdown table cell
        walls: list[float] = g["walls"]  # type: ignore[assignment]
        if not walls:
            lines.append(f"| {tool} | {query} | {inp} | failed | | | | |")
            continue
        wall = min(walls)
        reads_input = tool not in NO_THROUGHPUT
        eps = _fmt_num(events / wall) if wall > 0 and reads_input else ""
        mbs = _fmt_num(nbytes / 1e6 / wall) if wall > 0 and reads_input else ""
        rss = _fmt_num(int(g["rss"]) * 1024 / 1e6, 1)  # type: ignore[arg-type]
        d = duck.get((query, size, fmt))
        ratio = f"{wall / d:.2f}" if d and query != "-" else ""
        note = " (some runs failed)" if g["failed"] else ""
        lines.append(f"| {tool} | {query} | {inp} | {wall:.3f}{note} | {eps} | {mbs} | {rss} | {ratio} |")
    table = "\n".join(lines) + "\n"
    print(table, end="")
    prefix = ""
    if header:
        with open(header, encoding="utf-8") as f:
            prefix = f.read()
    with open(out_md, "w", encoding="utf-8") as f:
        f.write(prefix + table)
    return 0


def evtx_build(out: str, mb: float, sources: list[str]) -> int:
    import struct
    import zlib

    header = None
    chunks: list[tuple[bytes, int]] = []
    for src in sources:
        with open(src, "rb") as f:
            data = f.read()
        if data[:8] != b"ElfFile\0" or len(data) < 4096:
            continue
        header = header or bytearray(data[:4096])
        for at in range(4096, len(data) - 65535, 65536):
            c = data[at:at + 65536]
            if c[:8] != b"ElfChnk\0":
                continue
            first, last = struct.unpack_from("<QQ", c, 8)
            chunks.append((c, last - first + 1))
    if header is None or not chunks:
        print("bench_report: no EVTX chunks in the sources", file=sys.stderr)
        return 2
    want = max(1, int(mb * 1e6 // 65536))
    want = min(want, 65535)
    records = 0
    with open(out, "wb") as f:
        n = 0
        body = []
        while n < want:
            c, r = chunks[n % len(chunks)]
            body.append(c)
            records += r
            n += 1
        struct.pack_into("<QQ", header, 8, 0, n - 1)  # first and last chunk numbers
        struct.pack_into("<H", header, 42, n)  # chunk count
        struct.pack_into("<I", header, 120, 0)  # flags: clean
        struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
        f.write(bytes(header))
        for c in body:
            f.write(c)
    print(records)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    cmd = argv[1]
    if cmd == "measure" and len(argv) >= 4:
        return measure(argv[2], argv[3:])
    if cmd in ("duckdb-code", "duckdb-sql") and len(argv) == 5:
        query, fmt, path = argv[2], argv[3], argv[4]
        if query not in QUERIES or fmt not in ("ndjson", "records", "gz"):
            print(f"bench_report: unknown query {query!r} or format {fmt!r}", file=sys.stderr)
            return 2
        print(duckdb_code(query, fmt, path) if cmd == "duckdb-code" else duckdb_sql(query, fmt, path))
        return 0
    if cmd == "evtx-build" and len(argv) >= 5:
        return evtx_build(argv[2], float(argv[3]), argv[4:])
    if cmd == "report" and len(argv) in (4, 5):
        return report(argv[2], argv[3], argv[4] if len(argv) == 5 else None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
