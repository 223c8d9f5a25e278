#!/usr/bin/env bash
# Installs what neutrino needs on a fresh Debian machine (as root): system packages from Debian,
# Node.js 24 when the machine's is older (scripts/provide-node.sh), Node packages from
# package-lock.json, builds the TypeScript, and puts `neutrino` on PATH
# (/usr/local/bin/neutrino → this checkout's bin/neutrino; into DIR instead when given: [DIR]).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  iproute2 iptables ipset dnsmasq-base tcpdump iputils-ping iputils-arping conntrack
  nftables  # nft monitor: the agent knows when the ruleset has not changed since its last read
  udhcpc radvd dropbear-bin netcat-openbsd openssh-client
  haproxy  # the metadata proxies in qrouter- and qdhcp- namespaces, as Neutron runs them
  keepalived  # VRRP of HA routers in their qrouter- namespaces, as Neutron runs it
  python3-openstackclient
  postgresql
  python3-keystone  # the tests' real Keystone (test/helpers/keystone.ts): the library and its scripts, no service
  systemd  # systemd-analyze, to verify contrib/systemd's units in the tests
  chromium  # the page test of `neutrino web` (test/e2e/web-page.test.ts): headless, no browser download
)
# Node may come from elsewhere than Debian (as on CI machines); only install Debian's when absent
# (its npm fetches the packages; its node is too old to run neutrino: provide-node.sh adds one).
command -v node >/dev/null && command -v npm >/dev/null || PACKAGES+=(nodejs npm)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The tests start PostgreSQL clusters of their own; the package must not create and start a system one.
if [[ " ${missing[*]} " == *" postgresql "* && ! -e /etc/postgresql-common/createcluster.conf ]]; then
  mkdir -p /etc/postgresql-common
  echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1
  apt-get update -qq
  # confold (dpkg and ucf): a configuration file already there, such as createcluster.conf above, is kept.
  apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
fi

# Debian keeps PostgreSQL's server binaries off PATH, in /usr/lib/postgresql/<version>/bin, where the
# tests and `npm run bench:postgres` take the newest (test/helpers/postgres.ts), started as `postgres` under root.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || ! id postgres >/dev/null 2>&1; then
  echo "install-deps: PostgreSQL's server (/usr/lib/postgresql/*/bin/initdb) or its postgres account is missing" >&2
  exit 1
fi

# neutrino runs on Node.js 24 or newer: the machine's when it has it, else this checkout's own
# (.runtime/node, the machine's node and npm left as they are).
./scripts/provide-node.sh
if [ -x .runtime/node/bin/node ]; then
  export PATH="$PWD/.runtime/node/bin:$PATH"
  # A native addon built from source then compiles against this runtime's headers, offline.
  export npm_config_nodedir="$PWD/.runtime/node"
fi

echo "==> installing Node packages (npm ci)"
npm ci --no-fund --no-audit
echo "==> building"
npm run build --silent
echo "==> putting neutrino on PATH"
./scripts/link-bin.sh "$@"
