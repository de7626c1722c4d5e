#!/usr/bin/env bash
# Idle cost of `cutover demo` (budget: < 1 % of a core, < 40 MB resident; see BENCHMARKS.md):
# runs the release binary in tmux, lets it settle, then samples CPU time and RSS from /proc.
#   usage: benches/idle.sh [SECONDS]        (needs tmux; builds the release binary)
set -euo pipefail
secs=${1:-60}
cd "$(dirname "$0")/.."
cargo build --release --quiet
sock="cutover-idle-$$"
state=$(mktemp -d)
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$state"' EXIT
tmux -L "$sock" new-session -d -s idle -x 120 -y 32 \
  "XDG_STATE_HOME=$state ./target/release/cutover demo --scenario happy"
sleep 3
pane=$(tmux -L "$sock" display-message -p -t idle '#{pane_pid}')
pid=$(pgrep -f -n "target/release/cutover demo" || true)
[ -n "$pid" ] || pid=$pane
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
c0=$(cpu); t0=$(date +%s.%N)
sleep "$secs"
c1=$(cpu); t1=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v tck="$tck" -v rss="$rss" -v hwm="$hwm" 'BEGIN {
  pct = (c1 - c0) / tck / (t1 - t0) * 100
  printf "idle over %.0f s: CPU %.2f %% of one core; RSS %.1f MB (peak %.1f MB)\n", t1 - t0, pct, rss / 1024, hwm / 1024
}'
