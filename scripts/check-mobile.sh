#!/usr/bin/env bash
# Compiles and lints the wallet app's Rust library for the phone targets (issue 11): Android
# (aarch64-linux-android) and iOS (aarch64-apple-ios), so the `cfg(mobile)` code — plugins,
# biometric authorization, background lock, deep links, the Android Keystore and iOS Keychain
# stores — is type-checked and clippy-clean on every CI run.
#
# No Android NDK or Xcode is reachable here, so nothing is linked: C code in dependencies (ring,
# SQLite) is compiled with Zig's clang (PyPI `ziglang`, pinned) through scripts/zcc, against the
# libc headers Zig ships (musl for Android, macOS for iOS). See mobile/README.md for real builds.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

ZIG_VERSION=0.14.1
ZIG_HOME="$HOME/.cache/spondon/zig"

for t in aarch64-linux-android aarch64-apple-ios; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done
if ! "$ZIG_HOME/venv/bin/python" -m ziglang version 2>/dev/null | grep -qx "$ZIG_VERSION"; then
  python3 -m venv "$ZIG_HOME/venv"
  "$ZIG_HOME/venv/bin/pip" install --quiet "ziglang==$ZIG_VERSION"
fi
export ZIG_PYTHON="$ZIG_HOME/venv/bin/python"
# cc-rs asks xcrun for the iOS SDK unless SDKROOT names one; zcc drops -isysroot anyway.
mkdir -p "$ZIG_HOME/iPhoneOS.sdk"

check() {
  local target="$1" zig_target="$2"
  local var="CC_${target//-/_}"
  echo "==> $target (C via zig cc -target $zig_target)"
  env "$var=$PWD/scripts/zcc" ZCC_TARGET="$zig_target" SDKROOT="$ZIG_HOME/iPhoneOS.sdk" \
    cargo clippy --locked -p spondon-app -p spondon-keystore --lib --target "$target" -- -D warnings
}
check aarch64-linux-android aarch64-linux-musl
check aarch64-apple-ios aarch64-macos
echo "check-mobile: the app's library is clean for Android and iOS"
