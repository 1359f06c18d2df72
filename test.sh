#!/usr/bin/env bash
# Installs what is missing, builds the release preset, and runs every test suite (unit,
# integration, conformance) through ctest. `./test.sh -L unit` passes arguments to ctest.
set -euo pipefail
cd "$(dirname "$0")"
# ccache hits across checkouts (CI builds a fresh clone in another directory).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release "$@"
