#!/usr/bin/env bash
# Installs what neutrino needs on a fresh Debian machine (as root): system packages from Debian,
# Node packages from package-lock.json, builds the TypeScript, and puts `neutrino` on PATH
# (/usr/local/bin/neutrino → this checkout's bin/neutrino.js).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  iproute2 iptables ipset dnsmasq-base tcpdump iputils-ping iputils-arping conntrack
  udhcpc dropbear-bin netcat-openbsd openssh-client
  python3-openstackclient
)
# Node may come from elsewhere than Debian (as on CI machines); only install Debian's when absent.
command -v node >/dev/null && command -v npm >/dev/null || PACKAGES+=(nodejs npm)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "neutrino needs Node.js 20 or newer; this machine has $(node --version)" >&2
  exit 1
fi

echo "==> installing Node packages (npm ci)"
npm ci --no-fund --no-audit
echo "==> building"
npm run build --silent
echo "==> putting neutrino on PATH"
./scripts/link-bin.sh
