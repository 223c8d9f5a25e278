#!/usr/bin/env bash
# Provides the Node.js neutrino runs on. A machine whose `node` is already NODE_MAJOR or newer keeps
# its own. An older one (Debian's is) gets the pinned official Linux build in this checkout's
# .runtime/node, from the npm registry's node-linux-<arch> package (verified against the pinned
# sha512), and nothing of the machine changes: its node and npm stay as they are. npm scripts
# (node_modules/.bin/node, scripts/link-node.sh) and `neutrino` (bin/neutrino) then run on it.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_MAJOR=24
NODE_VERSION=24.22.3
declare -A NODE_SHA512=(
  [x64]='KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
  [arm64]='IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw=='
)
runtime=.runtime/node

machine_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$machine_major" -ge "$NODE_MAJOR" ]; then
  # A runtime left from when the machine's was older would shadow the newer one: drop it.
  [ ! -e "$runtime" ] || { echo "==> the machine's Node.js $(node --version) is new enough: removing $runtime"; rm -rf "$runtime"; }
  echo "==> Node.js: the machine's $(node --version)"
  exit 0
fi

if [ "$("$runtime/bin/node" --version 2>/dev/null || true)" = "v$NODE_VERSION" ]; then
  echo "==> Node.js: $runtime (v$NODE_VERSION) already there"
  exit 0
fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *)
    echo "neutrino needs Node.js $NODE_MAJOR or newer; this machine has $(node --version 2>/dev/null || echo none) and no package for $(uname -m) is pinned here: install Node.js $NODE_MAJOR and rerun" >&2
    exit 1
    ;;
esac

echo "==> Node.js: the machine's is $(node --version); fetching node-linux-$arch@$NODE_VERSION into $runtime"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tarball=$(npm pack --silent --pack-destination "$tmp" "node-linux-$arch@$NODE_VERSION")
actual=$(openssl dgst -sha512 -binary "$tmp/$tarball" | base64 -w0)
if [ "$actual" != "${NODE_SHA512[$arch]}" ]; then
  echo "node-linux-$arch@$NODE_VERSION from the registry does not match the pinned sha512: not installed" >&2
  exit 1
fi
rm -rf "$runtime"
mkdir -p "$runtime"
tar -xzf "$tmp/$tarball" -C "$runtime" --strip-components=1 --no-same-owner
echo "==> Node.js: $runtime/bin/node $("$runtime/bin/node" --version)"
