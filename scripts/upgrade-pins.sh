#!/usr/bin/env bash
# Move the pinned test environment on, on purpose: re-resolve constraints/test.txt and constraints/tools.txt
# at the newest versions that setup.py's ranges and constraints/tools.in allow today. Then run "Test it"
# (scripts/install-test-deps.sh && python -m pytest) and commit the pins with whatever the new versions
# needed. Nothing is installed here: pip resolves in throwaway venvs (--dry-run --report).
#
#   scripts/upgrade-pins.sh           everything to the newest allowed
#   scripts/upgrade-pins.sh --keep    keep every current pin; only add what a new dependency brings
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = "--keep" ] && keep=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp constraints/test.txt constraints/tools.txt "$work/"

resolve() {  # NAME "what it pins" PIP-ARGS...
  local name=$1 what=$2
  shift 2
  local pinned=()
  [ "$keep" -eq 1 ] && pinned=(-c "$work/$name.txt")
  python -m venv "$work/$name"
  "$work/$name/bin/python" -m pip install --quiet --dry-run --ignore-installed --report "$work/$name.json" \
    "${pinned[@]}" "$@"
  python scripts/pins_from_report.py "$work/$name.json" "$what" >"constraints/$name.txt"
}

resolve test 'pip install -e ".[dev,test,mutation,docs]"' -e ".[dev,test,mutation,docs]" &
test_job=$!
resolve tools "the .tools/ environment (constraints/tools.in)" -r constraints/tools.in &
tools_job=$!
wait "$test_job"
wait "$tools_job"
git --no-pager diff --stat -- constraints/ || true
