#!/usr/bin/env bash
# The benchmarks' tools beyond the user venv: serving_latency's load generators (wrk and h2load, from Debian,
# pinned) and its FastAPI baseline (requirements-bench.txt, pinned), installed into the given venv.
# `make bench` runs it; installing the Debian packages needs root (a clear message says so otherwise).
#   bench/setup.sh VENV
set -euo pipefail
venv=${1:?usage: bench/setup.sh VENV}
cd "$(dirname "$0")/.."

need() {  # need PROGRAM DEBIAN_PACKAGE=VERSION
  command -v "$1" >/dev/null && return 0
  apt-get install -y -qq --no-install-recommends "$2" ||
    { echo "serving_latency needs $1: apt-get install $2 (as root)" >&2; exit 1; }
}
need wrk wrk=4.1.0-3+b2
need h2load nghttp2-client=1.52.0-1+deb12u3
"$venv/bin/pip" install -q -r requirements-bench.txt
