#!/usr/bin/env bash
# Puts `neutrino` on PATH: a symlink DIR/neutrino → this checkout's bin/neutrino (DIR defaults to
# /usr/local/bin), which runs bin/neutrino.js on the checkout's Node.js. Idempotent; says what it
# did; leaves alone a DIR/neutrino that is not a symlink.
set -euo pipefail
checkout="$(cd "$(dirname "$0")/.." && pwd -P)"
dir="${1:-/usr/local/bin}"
target="$checkout/bin/neutrino"
link="$dir/neutrino"

if [ "$(readlink "$link" 2>/dev/null || true)" = "$target" ]; then
  echo "==> $link already points to $target"
elif [ -e "$link" ] && [ ! -L "$link" ]; then
  echo "==> $link exists and is not a symlink: left alone; run $target instead" >&2
  exit 1
else
  mkdir -p "$dir"
  [ -L "$link" ] && echo "==> $link pointed to $(readlink "$link"); now to $target" || echo "==> linked $link -> $target"
  ln -sfn "$target" "$link"
fi
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "==> note: $dir is not on PATH here; add it, or run $target" ;;
esac
