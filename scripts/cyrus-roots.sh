#!/usr/bin/env bash
# Builds the Debian roots that hold the Cyrus releases the host does not have (see test/cyrus/releases.ts):
# trixie for 3.10 (the last release with backupd and XBACKUP), sid for 3.12 (where both are gone).
# Idempotent: a root whose marker file exists is complete and reused; a half-built one is started over.
# Usage: scripts/cyrus-roots.sh [suite ...]   (default: trixie sid). Needs root and debootstrap.
set -euo pipefail

base=${XBACKUP_CYRUS_ROOTS:-/var/cache/xbackup-scheduler/roots}
mirror=${XBACKUP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=(cyrus-imapd cyrus-common cyrus-replication cyrus-clients sasl2-bin)
suites=("$@")
[ "${#suites[@]}" -gt 0 ] || suites=(trixie sid)

if [ "$(id -u)" -ne 0 ]; then
  echo "cyrus-roots: needs root (debootstrap and chroot); run it as root or with sudo" >&2
  exit 2
fi
if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

build() {
  local suite=$1 root="$base/$1"
  local marker="$root/.xbackup-root-complete"
  if [ -f "$marker" ]; then
    echo "cyrus-roots: $suite: reusing $root ($(cat "$marker"))"
    return
  fi
  # Anything mounted by an earlier, interrupted build must go before the root is removed.
  { grep -o " $root/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf "$root"
  mkdir -p "$root"
  echo "cyrus-roots: $suite: debootstrap into $root"
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$base/$suite.log" 2>&1 || {
    echo "cyrus-roots: $suite: debootstrap failed; the last lines of $base/$suite.log:" >&2
    tail -20 "$base/$suite.log" >&2
    exit 1
  }
  # sid's Release file may have expired in the mirror; the packages' own services must not start.
  printf 'Acquire::Check-Valid-Until "false";\n' >"$root/etc/apt/apt.conf.d/99xbackup-no-valid-until"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"
  mount -t proc proc "$root/proc"
  trap 'umount -l "$root/proc" 2>/dev/null || true' RETURN
  echo "cyrus-roots: $suite: installing ${packages[*]}"
  if ! chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -c \
      "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${packages[*]}" >>"$base/$suite.log" 2>&1; then
    echo "cyrus-roots: $suite: installing Cyrus failed; the last lines of $base/$suite.log:" >&2
    tail -20 "$base/$suite.log" >&2
    exit 1
  fi
  chroot "$root" dpkg-query -W -f='${Version}' cyrus-imapd >"$marker"
  echo "cyrus-roots: $suite: done (cyrus-imapd $(cat "$marker"))"
}

for s in "${suites[@]}"; do build "$s"; done
