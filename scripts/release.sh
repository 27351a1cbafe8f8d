#!/usr/bin/env bash
# Builds what a host without a Swift toolchain installs:
#   dist/cowbench-VERSION-linux-ARCH.tar.gz  the binary (Swift runtime and
#       Foundation linked in), completions, man pages, README and INSTALL;
#   dist/cowbench_VERSION_DEBARCH.deb        the same, for `apt install ./…`,
#       whose Depends: name the shared libraries and tools it needs.
# The binary records the commit it was built from (`cowbench --version`).
#
#   scripts/release.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
scripts/setup.sh
for tool in dpkg-deb dpkg-shlibdeps git; do
    command -v "$tool" >/dev/null || { echo "release: $tool is missing (Debian packages dpkg-dev, git)" >&2; exit 1; }
done

commit=$(git rev-parse --short=12 HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] || commit+=-dirty
# Its own build directory: the static runtime and the commit define would
# otherwise rebuild the developers' .build from scratch.
scratch=.build-release
echo "release: building cowbench at $commit with the Swift runtime linked statically (slow the first time)" >&2
swift build -c release --product cowbench --static-swift-stdlib --scratch-path "$scratch" \
    -Xcc "-DCOWBENCH_COMMIT=\"$commit\"" 2>&1 | grep -E "error|warning: unre|Compiling cowbench|Build complete" >&2 || true
bin=$scratch/release/cowbench
[ -x "$bin" ] || { echo "release: the build made no $bin" >&2; exit 1; }
version=$("$bin" --version | awk '{print $1}')
[[ "$("$bin" --version)" == *"commit $commit"* ]] || { echo "release: $bin does not say it is $commit" >&2; exit 1; }
if ldd "$bin" | grep -q libswift; then
    echo "release: $bin still links a Swift runtime library dynamically:" >&2
    ldd "$bin" | grep libswift >&2
    exit 1
fi

arch=$(uname -m)
debarch=$(dpkg --print-architecture)
name=cowbench-$version-linux-$arch
stage=dist/stage/$name
rm -rf dist/stage
mkdir -p "$stage/bin" "$stage/completions" "$stage/man"
install -m 0755 "$bin" "$stage/bin/cowbench"
strip --strip-unneeded "$stage/bin/cowbench"
"$bin" --generate-completion-script bash > "$stage/completions/cowbench.bash"
"$bin" --generate-completion-script zsh > "$stage/completions/_cowbench"
"$bin" --generate-completion-script fish > "$stage/completions/cowbench.fish"
# swift-argument-parser's own manual generator, one page per subcommand,
# built from the checkout the build used (its plugin would rebuild the whole
# package without the static runtime first).
swift build -c release --package-path "$scratch/checkouts/swift-argument-parser" --scratch-path "$scratch/manual-tool" \
    --product generate-manual 2>&1 | grep -E "error|Build of product" >&2 || true
mkdir -p "$scratch/man" && rm -f "$scratch"/man/*.1
"$scratch/manual-tool/release/generate-manual" "$bin" --output-directory "$scratch/man" --multi-page --authors "the cowbench developers"
manuals=$(ls "$scratch"/man/cowbench*.1 2>/dev/null || true)
[ -n "$manuals" ] || { echo "release: generate-manual wrote no man page" >&2; exit 1; }
for m in $manuals; do gzip -9n < "$m" > "$stage/man/$(basename "$m").gz"; done
cp README.md "$stage/README.md"

# What the binary links, as Debian packages, from the binary itself.
shlibdeps=$(
    tmp=$(mktemp -d)
    mkdir -p "$tmp/debian"
    printf 'Source: cowbench\n\nPackage: cowbench\nArchitecture: any\n' > "$tmp/debian/control"
    cp "$stage/bin/cowbench" "$tmp/cowbench"
    (cd "$tmp" && dpkg-shlibdeps -O -e cowbench 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
    rm -rf --one-file-system -- "$tmp"
)
[ -n "$shlibdeps" ] || { echo "release: dpkg-shlibdeps named no library" >&2; exit 1; }
# What the drivers run: mkfs for each scratch filesystem, the busybox image,
# fuse-overlayfs; containerd only for the containerd drivers.
tools="btrfs-progs, e2fsprogs, xfsprogs, util-linux, busybox-static, fuse-overlayfs, tar"

# The same, as names apt takes on its command line.
plain=$(echo "$shlibdeps, $tools" | sed 's/ ([^)]*)//g; s/ |[^,]*//g; s/,//g')
cat > "$stage/INSTALL" <<EOF
cowbench $version (commit $commit), linux $arch

Install on Debian 12 (bookworm) or later, as root:

    apt install ./cowbench_${version}_${debarch}.deb

or from this tarball: copy bin/cowbench to /usr/local/bin, the man pages in
man/ to /usr/local/share/man/man1, and install what it needs at run time:

    apt install $plain
    apt install containerd     # only for the containerd drivers

Then, as root: cowbench doctor; cowbench compare
EOF

mkdir -p dist
tar -C dist/stage --owner=0 --group=0 -czf "dist/$name.tar.gz" "$name"

deb=dist/stage/deb
mkdir -p "$deb/DEBIAN" "$deb/usr/bin" "$deb/usr/share/man/man1" "$deb/usr/share/doc/cowbench" \
    "$deb/usr/share/bash-completion/completions" "$deb/usr/share/zsh/vendor-completions" "$deb/usr/share/fish/vendor_completions.d"
install -m 0755 "$stage/bin/cowbench" "$deb/usr/bin/cowbench"
install -m 0644 "$stage"/man/*.gz "$deb/usr/share/man/man1/"
install -m 0644 "$stage/completions/cowbench.bash" "$deb/usr/share/bash-completion/completions/cowbench"
install -m 0644 "$stage/completions/_cowbench" "$deb/usr/share/zsh/vendor-completions/_cowbench"
install -m 0644 "$stage/completions/cowbench.fish" "$deb/usr/share/fish/vendor_completions.d/cowbench.fish"
install -m 0644 README.md "$stage/INSTALL" "$deb/usr/share/doc/cowbench/"
cat > "$deb/DEBIAN/control" <<EOF
Package: cowbench
Version: $version
Architecture: $debarch
Maintainer: cowbench developers <root@localhost>
Installed-Size: $(du -sk "$deb/usr" | cut -f1)
Depends: $shlibdeps, $tools
Recommends: containerd
Section: admin
Priority: optional
Description: benchmark container storage drivers on this host
 cowbench compares overlayfs, btrfs snapshots, reflink copies,
 fuse-overlayfs, full copies and containerd's snapshotters with real
 kernel mounts on scratch filesystems it makes itself, and reproduces
 btrfs metadata exhaustion. Built from commit $commit.
EOF
dpkg-deb --root-owner-group --build "$deb" "dist/cowbench_${version}_${debarch}.deb" >/dev/null
rm -rf dist/stage
echo "dist/$name.tar.gz"
echo "dist/cowbench_${version}_${debarch}.deb"
