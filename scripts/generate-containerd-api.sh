#!/bin/bash
# Regenerates Sources/ContainerdAPI/Generated from containerd's own .proto
# files (Debian's golang-github-containerd-containerd-dev, the same version
# as the containerd package). Run by hand after a containerd upgrade, never
# by the build: protoc-gen-swift alone takes about 10 minutes to build here.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH

GO=/usr/share/gocode/src
API=github.com/containerd/containerd/api
PROTOS=(types/mount.proto types/platform.proto services/snapshots/v1/snapshots.proto services/leases/v1/leases.proto
        services/introspection/v1/introspection.proto)
# Introspection returns a google.rpc.Status, from gogo's copy of googleapis.
GOOGLEAPIS=$GO/github.com/gogo/googleapis
OUT=Sources/ContainerdAPI/Generated
PLUGINS=.build-plugins

for pkg in protobuf-compiler golang-github-containerd-containerd-dev golang-github-gogo-protobuf-dev golang-github-gogo-googleapis-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || { echo "installing $pkg"; DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >/dev/null; }
done

# The plugins, at the versions Package.swift depends on, built once into
# .build-plugins (ignored by git).
PROTOBUF_VERSION=$(sed -n 's|.*apple/swift-protobuf.*from: "\([0-9.]*\)".*|\1|p' Package.swift)
GRPC_PROTOBUF_VERSION=$(sed -n 's|.*grpc/grpc-swift-protobuf.*from: "\([0-9.]*\)".*|\1|p' Package.swift)
mkdir -p "$PLUGINS"
cat > "$PLUGINS/Package.swift" <<PKG
// swift-tools-version:6.0
import PackageDescription
let package = Package(name: "plugins", dependencies: [
    .package(url: "https://github.com/apple/swift-protobuf", exact: "$PROTOBUF_VERSION"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "$GRPC_PROTOBUF_VERSION"),
])
PKG
for product in protoc-gen-swift protoc-gen-grpc-swift-2; do
    if [ ! -x "$PLUGINS/.build/release/$product" ]; then
        echo "building $product (slow, once)"
        (cd "$PLUGINS" && swift build -c release --product "$product" 2>&1 | tail -n 3)
    fi
done

rm -rf "$OUT"
mkdir -p "$OUT"
files=()
for p in "${PROTOS[@]}"; do files+=("$GO/$API/$p"); done
files+=("$GOOGLEAPIS/google/rpc/status.proto")
# googleapis first, so status.proto is known by the name introspection imports.
protoc -I "$GOOGLEAPIS" -I "$GO" -I "$GO/github.com/gogo/protobuf" -I /usr/include \
    --plugin=protoc-gen-swift="$PLUGINS/.build/release/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift-2="$PLUGINS/.build/release/protoc-gen-grpc-swift-2" \
    --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
    --grpc-swift-2_opt=Visibility=Public,Server=false,FileNaming=PathToUnderscores \
    --swift_out="$OUT" --grpc-swift-2_out="$OUT" "${files[@]}"
# gogo.proto is imported (weakly) only for Go code options; its Swift would be unused.
rm -f "$OUT"/*gogo*
# A .proto without a service still gets an empty .grpc.swift.
for f in "$OUT"/*.grpc.swift; do grep -q ServiceDescriptor "$f" || rm "$f"; done
echo "generated: $(ls "$OUT" | tr '\n' ' ')"
echo "from: $(dpkg-query -W -f='${Package} ${Version}' golang-github-containerd-containerd-dev)"
