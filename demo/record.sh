#!/usr/bin/env bash
# Records the bad-release story of `cutover demo` — step to 10 %, let it bake, step to 50 %,
# watch green breach, roll back — with asciinema, driven by tmux keys like a person would, and
# turns the cast into the animated SVG at the top of the README. Run it again after any change
# to the screen: the picture is the real screen, never drawn by hand.
#
#   apt-get install tmux asciinema        (or: pip install asciinema)
#   npm install -g svg-term-cli           (or it is fetched with npx)
#   bash demo/record.sh                   → demo/cutover.svg and demo/cutover.cast
#
# CUTOVER_BIN names the binary to record (default: target/release/cutover, built if missing);
# RECORD_OUT a folder to write to instead of demo/ (the tests use it).
set -euo pipefail
cd "$(dirname "$0")/.."

cols=100
rows=30
out_dir=${RECORD_OUT:-demo}
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
out_svg=$out_dir/cutover.svg
out_cast=$out_dir/cutover.cast
bin=${CUTOVER_BIN:-target/release/cutover}

for tool in tmux asciinema; do
  command -v "$tool" >/dev/null || { echo "record.sh: $tool is not installed (see the top of this file)" >&2; exit 2; }
done
if command -v svg-term >/dev/null; then
  svg_term=(svg-term)
elif command -v npx >/dev/null; then
  svg_term=(npx --yes svg-term-cli)
else
  echo "record.sh: svg-term is not installed: npm install -g svg-term-cli" >&2
  exit 2
fi
[ -x "$bin" ] || cargo build --release
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

work=$(mktemp -d)
sock="$work/tmux.sock"
cleanup() {
  tmux -S "$sock" kill-server 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A clean stage: a neutral user and host name on the screen (the host name in a UTS
# namespace of its own where `unshare` may make one), the journal in the scratch folder
# (named relatively, so no path of this machine is in the picture).
cd "$work"
cat > stage.sh <<STAGE
hostname bastion 2>/dev/null
exec env USER=oncall TERM=xterm-256color asciinema rec --quiet --overwrite --cols $cols --rows $rows \\
  -c "'$bin' demo --scenario bad-release --journal demo.journal.jsonl" demo.cast
STAGE
stage="sh stage.sh"
if unshare --map-root-user --uts true 2>/dev/null; then
  stage="unshare --map-root-user --uts sh stage.sh"
else
  echo "record.sh: no UTS namespace here: the screen shows this machine's host name" >&2
fi
tmux -S "$sock" -f /dev/null new-session -d -x "$cols" -y "$rows" "$stage"

screen() { tmux -S "$sock" capture-pane -p; }
key() { tmux -S "$sock" send-keys "$@"; }
# Waits until the screen shows what `grep -E` finds, for at most $2 seconds.
wait_for() {
  local end=$((SECONDS + $2))
  until screen | grep -Eq "$1"; do
    if [ "$SECONDS" -ge "$end" ]; then
      echo "record.sh: the screen never showed /$1/ in $2 s; it shows:" >&2
      screen >&2
      exit 1
    fi
    sleep 0.2
  done
}

wait_for 'pre-flight' 30
sleep 2
key Right                                   # the first step: smoke checks, then 10 %
wait_for 'verified \(blue 90 / green 10\)' 20
wait_for 'set 10 %  observed [0-9.]+ % green' 40   # baked (no bake countdown) and observed
sleep 1
key Right                                   # to 50 %: green's connection pool runs dry
wait_for 'guardrails ✕ BREACH' 40
sleep 3
key r                                       # everything back to blue, one call
wait_for 'ROLLBACK → 0 % applied .* verified' 10
sleep 4
key q
end=$((SECONDS + 10))
while tmux -S "$sock" has-session 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.2; done

cd - >/dev/null
cp "$work/demo.cast" "$out_cast"
"${svg_term[@]}" --in "$out_cast" --out "$out_svg" --window --width "$cols" --height "$rows" --no-cursor
echo "record.sh: wrote $out_cast and $out_svg ($(du -h "$out_svg" | cut -f1))"
