#!/usr/bin/env bash
# Installs what is missing, builds the release preset, and runs Pharos in the foreground on the
# embedded default config (or pass flags, e.g. ./run.sh --config.file=pharos.yml).
set -euo pipefail
cd "$(dirname "$0")"
# ccache hits across checkouts (CI builds a fresh clone in another directory).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target pharos
exec build/release/server/pharos "$@"
