#!/bin/bash
# A Debian arm64 root for the emulated Pi install (scripts/pi-install/check.py, `make pi-install-check`).
# Usage: build-root.sh DIST CACHE_DIR   (DIST: bookworm = Raspberry Pi OS 12, trixie = 13)
# Builds CACHE_DIR/DIST-base once, with debootstrap and qemu-user-static, and leaves it alone
# afterwards: every run of the check copies it, so the guide always starts from the same
# freshly bootstrapped system. The root is plain Debian (minbase, plus sudo and CA
# certificates, which Raspberry Pi OS Lite has); the guide installs everything else.
set -euo pipefail
dist=$1 cache=$2
base=$cache/$dist-base
mirror=${GATEPASS_PI_MIRROR:-http://deb.debian.org/debian}
if [[ -f $base/.complete ]]; then
    echo "cached: $base"; exit 0
fi
for tool in debootstrap qemu-aarch64-static; do
    command -v "$tool" >/dev/null || { echo "needs $tool: apt-get install -y debootstrap qemu-user-static binfmt-support" >&2; exit 2; }
done
if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
    mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    update-binfmts --enable qemu-aarch64
fi
rm -rf "$base" && mkdir -p "$cache"
# Both stages in one run: qemu-user-static's binfmt entry (flag F) runs the arm64 binaries.
debootstrap --arch=arm64 --variant=minbase --include=sudo,ca-certificates \
    "$dist" "$base" "$mirror"
printf 'deb %s %s main\n' "$mirror" "$dist" > "$base/etc/apt/sources.list"
rm -f "$base/var/cache/apt/archives/"*.deb
touch "$base/.complete"
echo "built: $base"
