#!/usr/bin/env bash
# End-to-end benchmark: spelunk against DuckDB, jq and plain reads (cat, gzip -dc) on generated
# CloudTrail files. Run scripts/bench.sh -h for the options.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/bench.sh [options]

Generates synthetic CloudTrail files (reused when present), runs the benchmark queries with spelunk
and, when available, the equivalent DuckDB SQL and jq program, and prints a Markdown table (also
written to target/bench-results.md; raw runs in target/bench-raw.tsv).

Options:
  --size small|1m|all     input size: small = 100,000 events (~128 MB), 1m = 1,000,000 (~1.29 GB) [small]
  --formats LIST          comma-separated: ndjson, records ({"Records":[...]}), gz (gzipped ndjson) [ndjson]
  --runs N                runs per measurement; the table shows the best (fastest) [3]
  --queries LIST          comma-separated subset of a,b,c,d,e,f,g,h,i [a,b,c,d,e,f,g,h,i]
  --no-duckdb             do not run DuckDB
  --no-jq                 do not run jq
  --install-duckdb        pip install duckdb if the python module is missing
  --evtx                  also measure EVTX reading: a ~150 MB EVTX file built from the chunks of
                          the shared Apache/MIT-licensed EVTX files (data/windows/evtx/attack_range,
                          omerbenamram_evtx), read with spelunk (search * | stats count), with the
                          evtx crate's own parse (examples/evtx_parse.rs, one thread) as the floor
  --only-evtx             measure EVTX reading only (no CloudTrail files)
  -h, --help              this help

Environment:
  SPELUNK=path            use this spelunk binary instead of building with cargo build --release
  EVTX_FLOOR=path         the evtx_parse example binary (else built with cargo build --release --example)
  SHARED=dir              where tools/gen-cloudtrail lives, relative to the repository root [../shared]
  BENCH_DIR=dir           where the data files go, relative to the repository root [target/bench-data]
  BENCH_TIMER=python      measure with python's resource module even when /usr/bin/time exists

Queries:
  a  queries/detect_api_activity_from_users_without_mfa.spl (seed detection, run with -f)
  b  queries/detect_aws_api_activities_from_unapproved_accounts.spl (seed detection, run with -f)
  c  sourcetype=aws:cloudtrail | stats count by eventName
  d  sourcetype=aws:cloudtrail eventName=Describe* errorCode!=success NOT userIdentity.type=AssumedRole
     awsRegion=us-east-1 | stats count by userIdentity.arn
  e  sourcetype=aws:cloudtrail | rename userIdentity.arn as arn | fields arn eventName awsRegion
     | table _time arn eventName awsRegion
  f  sourcetype=aws:cloudtrail Describe*Instances | stats count       (free-text wildcard term; spelunk only)
  g  sourcetype=aws:cloudtrail DescribeInstances | stats count        (f's plain twin; spelunk only)
  h  sourcetype=aws:cloudtrail | where eventName LIKE "Describe%" | stats count   (eval LIKE; spelunk only)
  i  sourcetype=aws:cloudtrail | where like(eventName, "Describe%") | stats count (h's function twin; spelunk only)
  f and h should stay within 1.5x of g and i: their patterns are compiled once, not per event.
EOF
}

die() { echo "bench: $*" >&2; exit 2; }
say() { echo "bench: $*" >&2; }

SIZE=small
FORMATS=ndjson
RUNS=3
QUERIES=a,b,c,d,e,f,g,h,i
USE_DUCKDB=1
USE_JQ=1
INSTALL_DUCKDB=0
EVTX=0
CLOUDTRAIL=1
EVTX_MB=150

need_arg() { [[ $# -ge 2 && -n "$2" ]] || die "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --size) need_arg "$@"; SIZE=$2; shift 2 ;;
        --size=*) SIZE=${1#*=}; shift ;;
        --formats) need_arg "$@"; FORMATS=$2; shift 2 ;;
        --formats=*) FORMATS=${1#*=}; shift ;;
        --runs) need_arg "$@"; RUNS=$2; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --queries) need_arg "$@"; QUERIES=$2; shift 2 ;;
        --queries=*) QUERIES=${1#*=}; shift ;;
        --no-duckdb) USE_DUCKDB=0; shift ;;
        --no-jq) USE_JQ=0; shift ;;
        --install-duckdb) INSTALL_DUCKDB=1; shift ;;
        --evtx) EVTX=1; shift ;;
        --only-evtx) EVTX=1; CLOUDTRAIL=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

case "$SIZE" in
    small) SIZES=(small) ;;
    1m) SIZES=(1m) ;;
    all) SIZES=(small 1m) ;;
    *) die "--size must be small, 1m or all (got '$SIZE')" ;;
esac
IFS=, read -r -a FORMAT_LIST <<<"$FORMATS"
[[ ${#FORMAT_LIST[@]} -gt 0 ]] || die "--formats is empty"
for f in "${FORMAT_LIST[@]}"; do
    case "$f" in ndjson|records|gz) ;; *) die "unknown format '$f' (ndjson, records, gz)" ;; esac
done
IFS=, read -r -a QUERY_LIST <<<"$QUERIES"
[[ ${#QUERY_LIST[@]} -gt 0 ]] || die "--queries is empty"
for q in "${QUERY_LIST[@]}"; do
    case "$q" in a|b|c|d|e|f|g|h|i) ;; *) die "unknown query '$q' (a to i)" ;; esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer (got '$RUNS')"

# A SPELUNK given relative to the directory the script was started from keeps working after the cd.
START_DIR=$PWD
if [[ -n "${SPELUNK:-}" && "$SPELUNK" == */* && "$SPELUNK" != /* && -e "$START_DIR/$SPELUNK" ]]; then
    SPELUNK="$START_DIR/$SPELUNK"
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
HELPER="$ROOT/scripts/bench_report.py"
GEN="${SHARED:-../shared}/tools/gen-cloudtrail"
DATA_DIR="${BENCH_DIR:-target/bench-data}"
RESULTS_MD=target/bench-results.md
RAW=target/bench-raw.tsv
SEED=42

command -v python3 >/dev/null || die "python3 is required"

# ---------------------------------------------------------------------------------------------------
# 1. spelunk
if [[ -z "${SPELUNK:-}" ]]; then
    command -v cargo >/dev/null || die "cargo not found (or set SPELUNK=path/to/spelunk)"
    say "building spelunk: cargo build --release"
    cargo build --release
    SPELUNK="$ROOT/target/release/spelunk"
fi
command -v "$SPELUNK" >/dev/null || die "spelunk binary not found or not executable: $SPELUNK"

# ---------------------------------------------------------------------------------------------------
# Tools that may be missing
if [[ $USE_DUCKDB -eq 1 ]] && ! python3 -c 'import duckdb' 2>/dev/null; then
    if [[ $INSTALL_DUCKDB -eq 1 ]]; then
        say "installing the duckdb python module: python3 -m pip install duckdb"
        python3 -m pip install duckdb || die "pip install duckdb failed"
        python3 -c 'import duckdb' || die "duckdb still not importable after pip install"
    else
        say "python module duckdb not found: DuckDB skipped (pip install duckdb, or --install-duckdb)"
        USE_DUCKDB=0
    fi
fi
if [[ $USE_JQ -eq 1 ]] && ! command -v jq >/dev/null; then
    say "jq not found: jq skipped"
    USE_JQ=0
fi
if [[ -x /usr/bin/time && "${BENCH_TIMER:-}" != python ]]; then
    TIMER=gnu
else
    [[ -x /usr/bin/time ]] || say "/usr/bin/time not found: measuring with python's resource module"
    TIMER=python
fi

# ---------------------------------------------------------------------------------------------------
# 2. data
events_for() { case "$1" in small) echo 100000 ;; 1m) echo 1000000 ;; evtx) echo "$EVTX_EVENTS" ;; esac; }
file_for() {
    local size=$1 fmt=$2
    case "$fmt" in
        ndjson) echo "$DATA_DIR/cloudtrail-$size.ndjson" ;;
        records) echo "$DATA_DIR/cloudtrail-$size.records.json" ;;
        gz) echo "$DATA_DIR/cloudtrail-$size.ndjson.gz" ;;
    esac
}
ensure_data() {
    local size=$1 fmt=$2 file events extra=()
    file=$(file_for "$size" "$fmt")
    if [[ -s "$file" ]]; then
        say "reusing $file"
        return 0
    fi
    [[ -f "$GEN" ]] || die "generator not found: $GEN (set SHARED=dir containing tools/gen-cloudtrail)"
    events=$(events_for "$size")
    case "$fmt" in records) extra=(--format records) ;; gz) extra=(--gzip) ;; esac
    mkdir -p "$DATA_DIR"
    say "generating $file ($events events, seed $SEED)"
    # Written under a temporary name first so an interrupted run never leaves a file that looks complete.
    python3 "$GEN" --events "$events" --seed "$SEED" --jobs 2 "${extra[@]}" -o "$file.partial"
    mv -f "$file.partial" "$file"
}

# ---------------------------------------------------------------------------------------------------
# Measurement: wall time (bash's microsecond clock around the run; /usr/bin/time's %e only has
# hundredths) and peak RSS (%M, KiB, the largest of the process and its children). Best of $RUNS.
# Without /usr/bin/time the python helper measures both; its RSS figure then never goes below the
# helper's own size (~15 MB): a forked child's peak RSS starts from its parent's.
mkdir -p target
TMP=$(mktemp -d "${TMPDIR:-/tmp}/spelunk-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
printf 'tool\tquery\tsize\tformat\tbytes\tevents\trun\twall\trss_kib\tstatus\n' >"$RAW"

FAILED=0
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }

# bench TOOL QUERY SIZE FORMAT FILE -- CMD...
bench() {
    local tool=$1 query=$2 size=$3 fmt=$4 file=$5
    shift 6
    local bytes events run t0 t1 rc us wall rss stats
    bytes=$(wc -c <"$file")
    bytes=$((bytes + 0))
    events=$(events_for "$size")
    for ((run = 1; run <= RUNS; run++)); do
        rc=0
        t0=$(now_us)
        if [[ $TIMER == gnu ]]; then
            /usr/bin/time -f '%e %M' -o "$TMP/time" "$@" >/dev/null 2>"$TMP/stderr" || rc=$?
        else
            python3 "$HELPER" measure "$TMP/time" "$@" >/dev/null 2>"$TMP/stderr" || rc=$?
        fi
        t1=$(now_us)
        us=$((t1 - t0))
        wall=$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))
        stats=$(tail -n 1 "$TMP/time" 2>/dev/null || true)
        rss=${stats#* }
        [[ "$rss" =~ ^[0-9]+$ ]] || rss=0
        # The python helper times the command itself (the clock above would include its start-up).
        if [[ $TIMER == python && "${stats%% *}" =~ ^[0-9]+\.[0-9]+$ ]]; then wall=${stats%% *}; fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
            "$tool" "$query" "$size" "$fmt" "$bytes" "$events" "$run" "$wall" "$rss" "$rc" >>"$RAW"
        if [[ $rc -ne 0 ]]; then
            say "[$size $fmt] $tool $query run $run FAILED (exit $rc); stderr:"
            head -n 20 "$TMP/stderr" >&2 || true
            FAILED=1
            return 0
        fi
        say "[$size $fmt] $tool $query run $run/$RUNS: ${wall} s, $((rss / 1024)) MiB"
    done
}

query_label() {
    case "$1" in
        a) echo "a seed MFA" ;;
        b) echo "b seed unapproved" ;;
        c) echo "c stats by eventName" ;;
        d) echo "d filter, stats by arn" ;;
        e) echo "e rename, table" ;;
        f) echo "f wildcard term" ;;
        g) echo "g plain term" ;;
        h) echo "h eval LIKE" ;;
        i) echo "i eval like()" ;;
    esac
}
spl_for() {
    case "$1" in
        c) echo 'sourcetype=aws:cloudtrail | stats count by eventName' ;;
        d) echo 'sourcetype=aws:cloudtrail eventName=Describe* errorCode!=success NOT userIdentity.type=AssumedRole awsRegion=us-east-1 | stats count by userIdentity.arn' ;;
        e) echo 'sourcetype=aws:cloudtrail | rename userIdentity.arn as arn | fields arn eventName awsRegion | table _time arn eventName awsRegion' ;;
        f) echo 'sourcetype=aws:cloudtrail Describe*Instances | stats count' ;;
        g) echo 'sourcetype=aws:cloudtrail DescribeInstances | stats count' ;;
        h) echo 'sourcetype=aws:cloudtrail | where eventName LIKE "Describe%" | stats count' ;;
        i) echo 'sourcetype=aws:cloudtrail | where like(eventName, "Describe%") | stats count' ;;
    esac
}
seed_file_for() {
    case "$1" in
        a) echo queries/detect_api_activity_from_users_without_mfa.spl ;;
        b) echo queries/detect_aws_api_activities_from_unapproved_accounts.spl ;;
    esac
}

JQ_NDJSON='reduce (inputs | .eventName | strings) as $n ({}; .[$n] += 1) | to_entries | sort_by(.key)[] | "\(.key),\(.value)"'
JQ_RECORDS='reduce (inputs | .Records[]? | .eventName | strings) as $n ({}; .[$n] += 1) | to_entries | sort_by(.key)[] | "\(.key),\(.value)"'

# ---------------------------------------------------------------------------------------------------
# 3-6. runs
[[ $CLOUDTRAIL -eq 1 ]] || SIZES=()
for size in "${SIZES[@]}"; do
    for fmt in "${FORMAT_LIST[@]}"; do
        ensure_data "$size" "$fmt"
    done
done

# EVTX: the file, its record count (from the chunk headers) and the crate's floor program
if [[ $EVTX -eq 1 ]]; then
    EVTX_SRC="${SHARED:-../shared}/data/windows/evtx"
    [[ -d "$EVTX_SRC" ]] || die "EVTX files not found: $EVTX_SRC (set SHARED=dir)"
    EVTX_FILE="$DATA_DIR/windows-${EVTX_MB}mb.evtx"
    mkdir -p "$DATA_DIR"
    say "building $EVTX_FILE from the chunks of $EVTX_SRC/{attack_range,omerbenamram_evtx}"
    EVTX_EVENTS=$(python3 "$HELPER" evtx-build "$EVTX_FILE.partial" "$EVTX_MB" \
        "$EVTX_SRC"/attack_range/*/*.evtx "$EVTX_SRC"/omerbenamram_evtx/*.evtx)
    mv -f "$EVTX_FILE.partial" "$EVTX_FILE"
    say "$EVTX_FILE: $EVTX_EVENTS records"
    if [[ -z "${EVTX_FLOOR:-}" ]]; then
        say "building the evtx crate's floor: cargo build --release --example evtx_parse"
        cargo build --release --example evtx_parse
        EVTX_FLOOR="$ROOT/target/release/examples/evtx_parse"
    fi
    bench cat - evtx evtx "$EVTX_FILE" -- cat "$EVTX_FILE"
    bench 'evtx crate parse (1 thread)' - evtx evtx "$EVTX_FILE" -- "$EVTX_FLOOR" "$EVTX_FILE"
    bench spelunk 'search *, stats count' evtx evtx "$EVTX_FILE" -- \
        "$SPELUNK" run --format csv --data "$EVTX_FILE" 'search * | stats count'
    got=$("$SPELUNK" run --format csv --data "$EVTX_FILE" 'search * | stats count' 2>/dev/null | tail -n 1)
    [[ "$got" == "$EVTX_EVENTS" ]] || { say "spelunk counted $got events, the chunk headers $EVTX_EVENTS"; FAILED=1; }
fi

for size in "${SIZES[@]}"; do
    for fmt in "${FORMAT_LIST[@]}"; do
        file=$(file_for "$size" "$fmt")

        # floors
        bench cat - "$size" "$fmt" "$file" -- cat "$file"
        if [[ $fmt == gz ]]; then
            bench 'gzip -dc | wc -l' - "$size" "$fmt" "$file" -- bash -c 'gzip -dc "$1" | wc -l' _ "$file"
        fi
        if [[ $USE_DUCKDB -eq 1 ]]; then
            # what every DuckDB figure includes: python start-up, import duckdb, connect
            bench 'duckdb start-up' - "$size" "$fmt" "$file" -- \
                python3 -c "import duckdb; duckdb.connect(config={'threads': 2}).execute('SELECT 1')"
        fi

        for q in "${QUERY_LIST[@]}"; do
            label=$(query_label "$q")

            # spelunk
            case "$q" in
                a|b)
                    seed=$(seed_file_for "$q")
                    if [[ -f "$seed" ]]; then
                        bench spelunk "$label" "$size" "$fmt" "$file" -- \
                            "$SPELUNK" run --format csv --data "$file" -f "$seed"
                    else
                        say "[$size $fmt] $seed not found: spelunk skipped for query $q"
                    fi
                    ;;
                *)
                    bench spelunk "$label" "$size" "$fmt" "$file" -- \
                        "$SPELUNK" run --format csv --data "$file" "$(spl_for "$q")"
                    ;;
            esac

            # spelunk's SQL run by DuckDB (`run --engine duckdb`), on the queries it translates
            if [[ $USE_DUCKDB -eq 1 && $q == c ]]; then
                bench 'spelunk --engine duckdb' "$label" "$size" "$fmt" "$file" -- \
                    "$SPELUNK" run --engine duckdb --data "$file" "$(spl_for "$q")"
            fi

            # DuckDB: one python3 -c process per run, so its RSS is measured like the others
            # (f to i compare spelunk's pattern matching with its plain forms: no DuckDB twin)
            if [[ $USE_DUCKDB -eq 1 && $q == [a-e] ]]; then
                code=$(python3 "$HELPER" duckdb-code "$q" "$fmt" "$file")
                bench duckdb "$label" "$size" "$fmt" "$file" -- python3 -c "$code"
            fi

            # jq: query c only
            if [[ $USE_JQ -eq 1 && $q == c ]]; then
                case "$fmt" in
                    ndjson) bench jq "$label" "$size" "$fmt" "$file" -- jq -n -r "$JQ_NDJSON" "$file" ;;
                    records) bench jq "$label" "$size" "$fmt" "$file" -- jq -n -r "$JQ_RECORDS" "$file" ;;
                    gz) bench jq "$label" "$size" "$fmt" "$file" -- \
                        bash -c 'gzip -dc "$1" | jq -n -r "$2"' _ "$file" "$JQ_NDJSON" ;;
                esac
            fi
        done
    done
done

# ---------------------------------------------------------------------------------------------------
# 7. table
{
    echo "# spelunk benchmark"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc 2>/dev/null || echo '?') CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
    echo "- spelunk: $SPELUNK $("$SPELUNK" --version 2>/dev/null | head -n 1 || true)"
    if [[ $USE_DUCKDB -eq 1 ]]; then
        echo "- duckdb: $(python3 -c 'import duckdb; print(duckdb.__version__)') (python module, 2 threads)"
    fi
    if [[ $USE_JQ -eq 1 ]]; then echo "- jq: $(jq --version 2>/dev/null || true)"; fi
    echo "- best of $RUNS runs; MB = 10^6 bytes; × DuckDB = wall time / DuckDB's wall time on the same query and input"
    echo
} >"$TMP/header.md"
python3 "$HELPER" report "$RAW" "$RESULTS_MD" "$TMP/header.md"
say "table written to $RESULTS_MD (raw runs: $RAW)"
if [[ $FAILED -ne 0 ]]; then
    say "some runs failed (see above)"
    exit 1
fi
