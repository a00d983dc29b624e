#!/usr/bin/env bash
# Everything "Test it" needs on a fresh Debian machine, at the versions the suite was last run with
# (constraints/*.txt; scripts/upgrade-pins.sh moves them on, on purpose). The jobs run at once:
#   chromium  Debian's Chromium for the browser tests (apt-get: root, or sudo), unless /usr/bin/chromium exists
#   frontend  npm ci: the toolchain that checks the committed bundle against its source
#   package   this package, editable, with its dev, test, mutation and docs extras, into the current Python
#             (a virtual environment, or the system's Python as root, as in CI)
#   tools     checkov and the AWS CDK, big and used by few tests, into their own environment, .tools/
# Each job writes a log; a failing job's log is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
logs=$(mktemp -d "${TMPDIR:-/tmp}/install-test-deps.XXXXXX")

chromium() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
}

frontend() {
  npm ci --prefix frontend --no-audit --no-fund --loglevel=error
}

package() {
  "$PYTHON" -m pip install --quiet --disable-pip-version-check -c constraints/test.txt -e ".[dev,test,mutation,docs]"
}

tools() {
  "$PYTHON" -m venv --clear .tools || { echo "no venv here: install python3-venv (Debian) and run again"; return 1; }
  .tools/bin/python -m pip install --quiet --disable-pip-version-check -c constraints/tools.txt \
    -r constraints/tools.in
}

run() {  # JOB: its output to its log, then how long it took
  ( SECONDS=0; "$1"; echo "$1: ${SECONDS}s" ) >"$logs/$1.log" 2>&1
}

wanted=(frontend package tools)
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ]; then
    wanted+=(chromium)
  else
    chromium  # in the foreground, so that sudo can ask for a password
  fi
fi
declare -A pids=()
for job in "${wanted[@]}"; do
  run "$job" &
  pids[$job]=$!
done
failed=0
for job in "${wanted[@]}"; do
  if wait "${pids[$job]}"; then
    tail -n 1 "$logs/$job.log"
  else
    failed=1
    echo "$job failed; the end of its log ($logs/$job.log):" >&2
    tail -n 40 "$logs/$job.log" >&2
  fi
done
exit "$failed"
