#!/usr/bin/env bash
# Installs the Debian packages cowbench needs; with --tests also those only
# the tests use. Idempotent: packages already present are skipped, so
# running it twice does nothing the second time.
set -euo pipefail

packages=(
  btrfs-progs       # mkfs.btrfs for scratch filesystems
  libbtrfsutil-dev  # the btrfs driver's snapshot/delete calls
  busybox-static    # the busybox image's /bin/sh
  e2fsprogs         # mkfs.ext4 for overlay/copy scratch filesystems
  util-linux        # losetup, findmnt (used by tests to check for leaks)
  pkg-config
  libarchive-dev    # image import: tar, pax and GNU formats, gzip and zstd
  xfsprogs          # mkfs.xfs for the reflink driver's scratch xfs
  fuse-overlayfs    # the fuse-overlayfs driver (brings fuse3)
  containerd        # the containerd driver: its daemon and ctr, for image import
  tar               # the containerd driver writes OCI layers with GNU tar
)
if [ "${1:-}" = "--tests" ]; then
  packages+=(
    umoci           # tests read OCI layouts an independent tool wrote
    chromium        # tests open the HTML report in a headless browser
    gcc libc6-dev   # tests build a static escape program to run inside instances
    python3-venv    # the venv below
    dpkg-dev        # scripts/release.sh: dpkg-shlibdeps names the .deb's libraries
    debootstrap     # scripts/test-release.sh: a Debian without Swift to install the .deb in
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all packages present" >&2
fi

# Python tools the tests check output with, in a venv of the project's own:
# a real OpenMetrics parser, and Kubernetes' OpenAPI schemas for the manifests.
if [ "${1:-}" = "--tests" ]; then
  venv="$(dirname "$0")/../.venv-tests"
  if ! "$venv/bin/python" -c "import prometheus_client, kubernetes_validate" 2>/dev/null; then
    echo "setup: installing prometheus_client and kubernetes-validate into .venv-tests" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q prometheus_client kubernetes-validate
  fi
fi

# loop and overlay may be modules on some kernels; on this one they are built in.
modprobe -q loop 2>/dev/null || true
modprobe -q overlay 2>/dev/null || true
modprobe -q btrfs 2>/dev/null || true
