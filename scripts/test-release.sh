#!/usr/bin/env bash
# The release on a host without a Swift toolchain: a fresh Debian minbase
# (debootstrap), the .deb installed there with apt, and cowbench doctor,
# drivers and a compare run inside it (chroot, with /proc, /sys and /dev
# bound, and the chroot's directory bound onto itself, so that / is a mount
# point there), then a check that nothing is left mounted or attached,
# inside or outside. Slow (minutes): scripts/test.sh runs it only where debootstrap
# can reach apt's mirror.
#
#   scripts/test-release.sh [dist/cowbench_VERSION_ARCH.deb]
# Exit status: 0 passed, 1 failed, 77 skipped (no mirror in reach).
set -euo pipefail
cd "$(dirname "$0")/.."

# The mirror apt already uses for Debian itself, from its own sources.
mirror() {
    local uri
    uri=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1)
    [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    echo "${uri%% *}"
}
suite=bookworm
url=$(mirror)
if [ -z "$url" ] || ! timeout 20 bash -c "exec 3<>/dev/tcp/$(echo "$url" | sed -E 's|^[a-z]+://([^/:]+).*|\1|')/80" 2>/dev/null; then
    echo "test-release: skipped: no Debian mirror in reach for debootstrap (apt's sources name ${url:-none})" >&2
    exit 77
fi
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null

deb=${1:-}
if [ -z "$deb" ]; then
    deb=$(scripts/release.sh | grep '\.deb$')
fi
[ -f "$deb" ] || { echo "test-release: no package at $deb" >&2; exit 1; }

work=$(mktemp -d /var/tmp/cowbench-release-test.XXXXXX)
root=$work/root
loops_before=$(losetup -a | sort)
# Everything mounted for the chroot goes when this script ends, however it
# ends: it runs in a mount namespace of its own (below), and is unmounted
# explicitly too, deepest first; only this script's directory is removed.
cleanup() {
    for m in $(findmnt -rn -o TARGET | grep "^$root" | sort -r); do umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system -- "$work"
}
trap cleanup EXIT

fail() { echo "test-release: FAILED: $*" >&2; exit 1; }

inside() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

echo "test-release: debootstrap --variant=minbase $suite from $url" >&2
debootstrap --variant=minbase "$suite" "$root" "$url" > "$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
# The chroot's mounts must not reach the host's tree, nor the host's back:
# shared propagation (systemd's) would otherwise carry them both ways.
unshare_body() {
    mount --make-rprivate /
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    cp "$deb" "$root/tmp/"
    inside test ! -e /opt/swift || fail "the chroot has a Swift toolchain"
    inside sh -c '! command -v swift' >/dev/null || fail "the chroot has swift on its PATH"
    echo "test-release: apt install ./$(basename "$deb") in the chroot" >&2
    inside apt-get update -qq >/dev/null
    inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" \
        > "$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log" >&2; fail "apt install"; }
    inside cowbench --version
    # A plain chroot's / is no mount point, which the box needs: said up front.
    inside cowbench compare --instances 1 > "$work/plain.txt" 2>&1 && fail "compare ran in a chroot whose / is not a mount point"
    grep -q "/ is not a mount point here" "$work/plain.txt" || { cat "$work/plain.txt" >&2; fail "no clear refusal in a plain chroot"; }
    # As arch-chroot does: the chroot's directory bound onto itself (with what is mounted below it).
    mount --rbind "$root" "$root"
    inside cowbench doctor > "$work/doctor.txt" 2>&1 || { cat "$work/doctor.txt" >&2; fail "cowbench doctor"; }
    inside cowbench drivers | tee "$work/drivers.txt" | grep -q "^overlay *works" || { cat "$work/drivers.txt" >&2; fail "cowbench drivers"; }
    inside cowbench compare --instances 20 --out /tmp/out > "$work/compare.txt" 2>&1 \
        || { cat "$work/compare.txt" >&2; fail "cowbench compare"; }
    tail -n 4 "$work/compare.txt" >&2
    for d in overlay btrfs copy; do grep -q ",$d,busybox," "$root/tmp/out/summary.csv" || fail "summary.csv has no $d row"; done
    grep -q "$(inside cowbench --version | sed -E 's/.*commit ([0-9a-f]+).*/\1/')" "$root/tmp/out/summary.csv" \
        || fail "summary.csv does not record the commit"
    # Inside: only the chroot's own binds; nothing under cowbench's state.
    local left
    left=$(findmnt -rn -o TARGET | grep "^$root" | grep -v -x "$root" | grep -v -E "^$root/(proc|sys|dev)(/|$)" || true)
    [ -z "$left" ] || fail "left mounted inside the chroot: $left"
    inside cowbench cleanup | grep -q "nothing to clean up" || fail "cleanup found leftovers"
}
export -f unshare_body inside fail
export root work deb
unshare --mount bash -c unshare_body
# Outside: nothing of the chroot mounted, no loop device of its attached.
findmnt -rn -o TARGET | grep -q "^$root" && fail "the chroot's mounts reached the host"
[ "$(losetup -a | sort)" = "$loops_before" ] || fail "loop devices changed: $(losetup -a)"
echo "test-release: passed: $(basename "$deb") installed with apt in a $suite minbase without Swift; doctor, drivers and compare ran; nothing left" >&2
