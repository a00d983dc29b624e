#!/usr/bin/env bash
# Everything the test suite needs on a fresh Debian machine: Chromium for the browser tests,
# the frontend toolchain (to check the committed bundle against its source), and the package
# itself with its dev, test, cdk and docs extras.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

npm ci --prefix frontend --no-audit --no-fund --loglevel=error
python -m pip install -q -e ".[dev,test,cdk,docs]"
