#!/usr/bin/env bash
# `npm run check`: typecheck, lint, format:check and deps:check side by side (each is one process
# that keeps one core busy; one after the other they took ~2 minutes of CI's time on 2 cores). Each
# one's output is shown whole, in that order, once it has ended; the status is 1 if any failed.
set -u
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
checks=(typecheck lint format:check deps:check)
pids=()
for check in "${checks[@]}"; do
  npm run "$check" --silent > "$out/$check" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!checks[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "npm run ${checks[$i]}: failed"
    status=1
  fi
  cat "$out/${checks[$i]}"
done
exit $status
