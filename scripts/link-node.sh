#!/bin/sh
# npm puts node_modules/.bin first on PATH for every npm script (and `npm ci` runs this as the
# project's postinstall): a `node` there makes `npm test`, `npm run check`, the benchmarks and every
# tool they start (tsc, eslint, the test runner) run on .runtime/node when
# scripts/provide-node.sh provided it, whichever node runs npm itself. Without .runtime/node, the
# machine's node is new enough and nothing is linked.
set -eu
cd "$(dirname "$0")/.."
if [ -x .runtime/node/bin/node ]; then
  mkdir -p node_modules/.bin
  ln -sfn ../../.runtime/node/bin/node node_modules/.bin/node
elif [ "$(readlink node_modules/.bin/node 2>/dev/null)" = ../../.runtime/node/bin/node ]; then
  rm node_modules/.bin/node
fi
