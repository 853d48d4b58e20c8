#!/usr/bin/env bash
# Installs everything lkbuild needs on Debian 12: host tools from Debian, then npm packages,
# then builds the TypeScript and the native init. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # booting and disk formats
  qemu-system-x86 qemu-utils cpio ovmf
  systemd-boot-efi dosfstools mtools gdisk fdisk binutils
  xorriso isolinux syslinux syslinux-common
  # static native code: the init and lk-run; clang for fuzzing lk-run's config reader
  musl-tools build-essential clang libclang-rt-14-dev clang-format
  # the kernel recipe
  linux-source-6.1 bc bison flex libelf-dev libssl-dev kmod
  # Debian package handling in image recipes
  gpgv xz-utils zstd debian-archive-keyring
  # tests: a real registry, third-party OCI checkers, a busybox for launcher bundles
  docker-registry apache2-utils skopeo umoci busybox-static openssl
  # an independent copy of the default seccomp profile (podman's, from Docker's) for comparison
  golang-github-containers-common
  # boot tests log in to nodes (ssh, ssh-keygen) and make ext4 test volumes
  openssh-client e2fsprogs
  # build --sign-key signs UKIs with osslsigncode; the tests check them with sbsigntool's sbverify
  osslsigncode sbsigntool
  # kernel+squashfs and --verity: mksquashfs makes the root image; the tests check it with
  # unsquashfs and the dm-verity hash tree with cryptsetup-bin's veritysetup (and the boot
  # tests make an independent root image with both)
  squashfs-tools cryptsetup-bin
  # bench/launcher compares lk-run with these OCI runtimes
  crun runc
  # init/test/launcher/containerd.test.ts drives lk-run through containerd's runc v2 shim;
  # script (bsdutils) gives ctr run -t a terminal
  containerd bsdutils
)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# docker-registry's and containerd's own services are not wanted: tests start their own.
$sudo systemctl disable --now docker-registry >/dev/null 2>&1 || true
$sudo systemctl disable --now containerd >/dev/null 2>&1 || true

# npm install (not ci): npm 11 here rejects its own lock file in `npm ci` over optional
# platform packages (rollup, esbuild); install still follows the locked versions.
npm install --no-audit --no-fund
npm run build
