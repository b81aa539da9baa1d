#!/usr/bin/env bash
# What a newcomer does first: clone the repository and run the two commands of README.md's
# "The two commands" section, exactly as written there, timing each.
#
#   scripts/newcomer.sh [--keep] [CLONE_DIR]
#
# The clone is made from this repository's committed HEAD into CLONE_DIR (default: a new folder
# beside the repository, so that ../shared is beside the clone as it is beside the repository) with a
# target folder of its own: the first command is a cold build. The crates' sources come from cargo's
# download cache when it has them (a first install downloads them too). The clone is removed at the
# end unless --keep is given.
set -euo pipefail

keep=0
if [ "${1:-}" = "--keep" ]; then
  keep=1
  shift
fi
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$(dirname "$repo")/spelunk-newcomer-$$}"
if [ -e "$dir" ]; then
  echo "newcomer: $dir exists; give a new folder" >&2
  exit 2
fi

# the commands: the code blocks of "## The two commands", in order
mapfile -t commands < <(awk '
  /^## The two commands/ { inside = 1; next }
  inside && /^## / { exit }
  inside && /^```/ { block = !block; next }
  inside && block && NF { print }
' "$repo/README.md")
if [ "${#commands[@]}" -ne 2 ]; then
  echo "newcomer: README.md's \"The two commands\" should hold two commands, found ${#commands[@]}" >&2
  exit 2
fi

git clone --quiet "$repo" "$dir"
cleanup() { if [ "$keep" = 0 ]; then rm -rf "$dir"; fi; }
trap cleanup EXIT
unset CARGO_TARGET_DIR

status=0
times=()
for c in "${commands[@]}"; do
  echo "newcomer: \$ $c" >&2
  start=$(date +%s.%N)
  if (cd "$dir" && bash -c "$c") > "$dir.out" 2>&1; then
    result=ok
  else
    result="failed (exit $?)"
    status=1
  fi
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
  times+=("$(printf '%dm %02ds' $((secs / 60)) $((secs % 60)))  $result  $c")
  tail -n 3 "$dir.out" | sed 's/^/    /' >&2
done
rm -f "$dir.out"
echo "newcomer: on $(nproc) cores, from a fresh clone:"
for t in "${times[@]}"; do
  echo "  $t"
done
exit $status
