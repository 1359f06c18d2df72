#!/usr/bin/env bash
# Installs what building, running and testing Pharos needs, from Debian's packages.
# Idempotent: apt-get runs only when a package is missing.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config git
  # libraries
  libboost-dev libboost-system-dev librocksdb-dev libprotobuf-dev protobuf-compiler
  libsnappy-dev libabsl-dev libre2-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  libzstd-dev liblz4-dev libbz2-dev zlib1g-dev libxxhash-dev nlohmann-json3-dev libssl-dev
  libcurl4-openssl-dev tzdata
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # peers used as oracles by the tests (promtool checks /metrics; node-exporter is a scrape
  # target in the scrape integration test)
  prometheus prometheus-node-exporter
  # amtool drives silences against Pharos's Alertmanager API; aiosmtpd is the SMTP server the
  # email integration test delivers to
  prometheus-alertmanager python3-aiosmtpd
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# The prometheus package starts a service where systemd runs; Pharos's tests start their own
# instances on free ports, so a packaged one on :9090 is only in the way of ./run.sh.
# Same for node-exporter's service on :9100 and Alertmanager's on :9093.
for svc in prometheus prometheus-node-exporter prometheus-alertmanager; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done
