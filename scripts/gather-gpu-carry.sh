#!/usr/bin/env bash
# Fills .carry/ (git-ignored) with what a GPU machine that has only a PyTorch install, CMake and
# a compiler lacks to build, test and run fmnist: the header-only dependencies, googletest's
# sources, zlib (headers and a static library) and the Fashion-MNIST files. Run on Debian 12
# after scripts/install-deps.sh; cmake/Dependencies.cmake picks these copies up through
# -DFMNIST_CARRY_DIR (default: .carry) wherever a system package is missing.
#
# Layout, one folder per dependency so that using one carried copy never shadows another
# dependency's system headers:
#   CLI11/include/CLI/            header-only CLI11
#   spdlog/include/{spdlog,fmt}/  spdlog and fmt, used header-only (SPDLOG_HEADER_ONLY,
#                                 FMT_HEADER_ONLY; Debian's tweakme.h sets SPDLOG_FMT_EXTERNAL,
#                                 so spdlog includes <fmt/...> from beside it)
#   zlib/include, zlib/lib/libz.a zlib (x86-64, position-independent)
#   nlohmann_json/include/        header-only nlohmann/json
#   libexif/include, lib/libexif.a libexif (x86-64, position-independent)
#   googletest/                   googletest's sources, for add_subdirectory (gmock left out)
#   cairo/include, nettle/include cairo's and nettle's headers (cairo.h, nettle/sha2.h)
#   cpp-httplib/include           httplib.h (Debian builds its code into libcpp-httplib.so)
#   shlib/                        libcairo and libnettle (x86-64 shared libraries) with the
#                                 libraries they load, glibc's own left out; found through
#                                 fmnist's RUNPATH
#   fonts/                        DejaVu Sans, for the plots' text (gpu-check.sh points
#                                 fontconfig at it with FONTCONFIG_FILE)
#   data/                         the four *-ubyte.gz files
#   MANIFEST                      versions and sizes
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
carry="${1:-$root/.carry}"
data_src="${FMNIST_DATA_SOURCE:-/usr/share/datasets/fashion-mnist}"
max_mib=60

need() {
  [[ -e "$1" ]] || { echo "gather-gpu-carry: missing $1 (${2}); run scripts/install-deps.sh" >&2; exit 1; }
}
need /usr/include/CLI/CLI.hpp libcli11-dev
need /usr/include/spdlog/spdlog.h libspdlog-dev
need /usr/include/fmt/format.h libfmt-dev
need /usr/include/zlib.h zlib1g-dev
need /usr/lib/x86_64-linux-gnu/libz.a zlib1g-dev
need /usr/include/nlohmann/json.hpp nlohmann-json3-dev
need /usr/lib/x86_64-linux-gnu/libexif.a libexif-dev
need /usr/src/googletest/googletest/CMakeLists.txt googletest
need /usr/include/cairo/cairo.h libcairo2-dev
need /usr/include/nettle/sha2.h nettle-dev
need /usr/include/httplib.h libcpp-httplib-dev
need /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf fonts-dejavu-core
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  need "$data_src/$f.gz" dataset-fashion-mnist
done

rm -rf "$carry"
mkdir -p "$carry"/{CLI11/include,spdlog/include,zlib/include,zlib/lib,data} \
  "$carry"/{nlohmann_json/include,libexif/include,libexif/lib}

cp -a /usr/include/CLI "$carry/CLI11/include/"
cp -a /usr/include/spdlog /usr/include/fmt "$carry/spdlog/include/"
cp -a /usr/include/zlib.h /usr/include/zconf.h "$carry/zlib/include/"
cp -a /usr/lib/x86_64-linux-gnu/libz.a "$carry/zlib/lib/"
cp -a /usr/include/nlohmann "$carry/nlohmann_json/include/"
cp -a /usr/include/libexif "$carry/libexif/include/"
cp -a /usr/lib/x86_64-linux-gnu/libexif.a "$carry/libexif/lib/"
cp -a "$data_src"/*-ubyte.gz "$carry/data/"

# cairo, nettle and cpp-httplib: headers, and the shared libraries with what they load (not
# glibc itself).
mkdir -p "$carry"/{cairo/include,nettle/include,cpp-httplib/include,shlib,fonts}
cp -a /usr/include/cairo/*.h "$carry/cairo/include/"
cp -a /usr/include/nettle "$carry/nettle/include/"
# httplib.h, and the OpenSSL and Brotli headers it includes as Debian's build configured it.
cp -a /usr/include/httplib.h /usr/include/openssl /usr/include/brotli "$carry/cpp-httplib/include/"
cp -a /usr/include/x86_64-linux-gnu/openssl/. "$carry/cpp-httplib/include/openssl/"
libs=(/usr/lib/x86_64-linux-gnu/libcairo.so.2 /usr/lib/x86_64-linux-gnu/libnettle.so.8
  /usr/lib/x86_64-linux-gnu/libcpp-httplib.so.0.11)
ldd "${libs[@]}" | awk '/=>/ { print $3 }' | sort -u |
  grep -v -E '/(libc|libm|libpthread|libdl|librt|libresolv)\.so|/ld-linux' >"$carry/shlib.list"
for lib in "${libs[@]}" $(cat "$carry/shlib.list"); do cp -L "$lib" "$carry/shlib/"; done
rm "$carry/shlib.list"
cp /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf "$carry/fonts/"

# googletest: the top-level CMakeLists.txt (it sets GOOGLETEST_VERSION) and googletest/ without
# its own tests, samples and docs; BUILD_GMOCK=OFF keeps googlemock/ unused.
mkdir -p "$carry/googletest/googletest"
cp -a /usr/src/googletest/CMakeLists.txt "$carry/googletest/"
for d in CMakeLists.txt cmake include src; do
  cp -a "/usr/src/googletest/googletest/$d" "$carry/googletest/googletest/"
done

# Debian's spdlog is configured for an external fmt; check that what we carry agrees.
grep -q '^#define SPDLOG_FMT_EXTERNAL' "$carry/spdlog/include/spdlog/tweakme.h" ||
  echo "gather-gpu-carry: note: tweakme.h does not set SPDLOG_FMT_EXTERNAL" >&2

{
  echo "gathered $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME") $(uname -m)"
  dpkg-query -W -f='${Package} ${Version}
' libcli11-dev libspdlog-dev libfmt-dev zlib1g-dev \
    nlohmann-json3-dev libexif-dev googletest dataset-fashion-mnist libcairo2-dev nettle-dev \
    libcpp-httplib-dev fonts-dejavu-core 2>/dev/null || true
  (cd "$carry" && du -s --block-size=1K ./* | sort -k2)
} >"$carry/MANIFEST"

total_kib=$(du -s --block-size=1K "$carry" | cut -f1)
echo "gather-gpu-carry: $carry holds $((total_kib / 1024)) MiB ($total_kib KiB)"
if ((total_kib > max_mib * 1024)); then
  echo "gather-gpu-carry: over the ${max_mib} MiB budget" >&2
  exit 1
fi
