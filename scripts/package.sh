#!/usr/bin/env bash
# Usage: scripts/package.sh
# Builds the Debian package build-deb/fmnist_<version>_amd64.deb (CPack, cmake/Package.cmake):
# a Release build configured for /usr in build-deb/, its dependencies found by dpkg-shlibdeps,
# then checked with lintian. Install it with `apt install ./build-deb/fmnist_*.deb`, remove it
# with `apt remove fmnist`. About 10 minutes on 2 cores (a build of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
for p in lintian dpkg-dev file; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    { [[ $(id -u) -eq 0 ]] || sudo=sudo; ${sudo:-} apt-get install -y -q --no-install-recommends "$p"; }
done
cmake -S . -B build-deb -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DFMNIST_BUILD_TESTS=OFF
cmake --build build-deb -j "$(nproc)"
(cd build-deb && cpack)
deb=$(ls build-deb/fmnist_*.deb)
echo "package: $deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
echo "lintian:"
lintian --info "$deb" || true
