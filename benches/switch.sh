#!/usr/bin/env bash
# Rollback side by side with what a human types, on every real backend (see
# benches/switch.py and BENCHMARKS.md).   usage: benches/switch.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
if ! command -v aws >/dev/null 2>&1; then
  # The aws CLI in a venv under target/ (not on this machine's PATH otherwise).
  [ -x target/bench-venv/bin/aws ] || {
    python3 -m venv target/bench-venv
    target/bench-venv/bin/pip install --quiet awscli
  }
  export AWS_CLI="$PWD/target/bench-venv/bin/aws"
fi
exec python3 benches/switch.py "$@"
