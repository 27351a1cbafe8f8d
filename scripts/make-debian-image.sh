#!/usr/bin/env bash
# Builds a Debian minbase rootfs with debootstrap and imports it as the
# cowbench image "debian-minbase" (about 5,000 files, 120 MB): a realistic
# image for copy-up and exhaustion runs. Needs the network (apt's mirror).
#
#   scripts/make-debian-image.sh [SUITE] [NAME]
set -euo pipefail
suite=${1:-bookworm}
name=${2:-debian-minbase}
cd "$(dirname "$0")/.."

if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
work=$(mktemp -d /var/tmp/cowbench-debootstrap.XXXXXX)
# Only this script's own temporary directory is ever removed.
trap 'rm -rf --one-file-system -- "$work"' EXIT
debootstrap --variant=minbase "$suite" "$work/rootfs"
scripts/cowbench image import "$work/rootfs" --name "$name"
