#!/usr/bin/env bash
# Install everything pathsteer needs on Debian 12 and build it. Idempotent:
# re-running only installs what is missing and rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (apt installs and BPF need it): sudo scripts/setup.sh" >&2
  exit 2
fi

# Debian packages. Keep this list the single source of truth for system deps.
PKGS=(
  clang llvm libbpf-dev libbpf1 bpftool libelf-dev zlib1g-dev   # BPF build + loader runtime
  iproute2 iputils-ping iperf3 ethtool procps kmod util-linux   # network tooling
  iptables nftables libnetfilter-queue-dev libnetfilter-queue1  # failure injection, delay helper
  gcc make pkg-config                                           # C helpers
  ruby                                                          # evaluates vagrant/Vagrantfile in tests
  redis-server                                                  # fleet store (tests start their own, no service needed)
  chromium                                                      # dashboard tests and bench fleet (headless, via playwright-core)
  frr                                                           # AltPath testbed: bgpd -M bmp, zebra (FRR 8.4)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# bpffs for pinned maps and programs.
if ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf
fi

if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
npm run build
echo "setup.sh: done"
