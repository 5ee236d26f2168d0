#!/usr/bin/env bash
# Generates the Android Studio and Xcode projects of the wallet app (src-tauri/gen/android,
# src-tauri/gen/apple) with the pinned Tauri CLI, then applies what Spondon needs on top of
# Tauri's templates. Run on a machine with the SDKs (see mobile/README.md):
#
#   mobile/init.sh android     # needs ANDROID_HOME, NDK_HOME (NDK 27), JDK 17
#   mobile/init.sh ios         # needs macOS with Xcode 16
#
# The generated projects are not committed: they are a function of this script, src-tauri's
# configuration (tauri.conf.json, tauri.android.conf.json, tauri.ios.conf.json, Info.ios.plist,
# capabilities/) and the icons in icons/.
set -euo pipefail
cd "$(dirname "$0")/.."

TAURI_CLI_VERSION=2.12.5
platform="${1:-}"
case "$platform" in
  android | ios) ;;
  *) echo "usage: mobile/init.sh android|ios" >&2; exit 2 ;;
esac

cli_dir="$HOME/.cache/spondon/tauri-cli"
if [ ! -x "$cli_dir/node_modules/.bin/tauri" ] ||
  ! "$cli_dir/node_modules/.bin/tauri" --version | grep -q "$TAURI_CLI_VERSION"; then
  mkdir -p "$cli_dir"
  npm install --prefix "$cli_dir" --no-save --silent "@tauri-apps/cli@$TAURI_CLI_VERSION"
fi
tauri() { (cd src-tauri && "$cli_dir/node_modules/.bin/tauri" "$@"); }

# The UI the app embeds.
scripts/build-ui.sh

if [ "$platform" = android ]; then
  : "${ANDROID_HOME:?set ANDROID_HOME to the Android SDK}"
  : "${NDK_HOME:?set NDK_HOME to the Android NDK (27.x)}"
  tauri android init --ci
  gen=src-tauri/gen/android
  # Launcher icons from icons/ (the one drawing in assets/icon/).
  for d in icons/android/mipmap-*; do
    cp "$d"/*.png "$gen/app/src/main/res/$(basename "$d")/"
  done
  # Screenshots and the recent-apps thumbnail are blocked for the whole app: every screen but
  # the first-run one shows health data or a share QR (FLAG_SECURE).
  activity=$(find "$gen/app/src/main/java" -name MainActivity.kt | head -n 1)
  cat >"$activity" <<'KOTLIN'
package org.spondon.wallet

import android.os.Bundle
import android.view.WindowManager
import androidx.activity.enableEdgeToEdge

class MainActivity : TauriActivity() {
  override fun onCreate(savedInstanceState: Bundle?) {
    enableEdgeToEdge()
    super.onCreate(savedInstanceState)
    window.setFlags(
      WindowManager.LayoutParams.FLAG_SECURE,
      WindowManager.LayoutParams.FLAG_SECURE,
    )
  }
}
KOTLIN
  # No cleartext HTTP: peers and the authority are reached over https only.
  manifest="$gen/app/src/main/AndroidManifest.xml"
  sed -i 's/android:usesCleartextTraffic="[^"]*"/android:usesCleartextTraffic="false"/' "$manifest"
  echo "Android project in $gen. Build: (cd src-tauri && tauri android build --apk --aab)"
else
  tauri ios init --ci
  gen=src-tauri/gen/apple
  cp icons/ios/*.png "$gen/Assets.xcassets/AppIcon.appiconset/" 2>/dev/null || true
  echo "Xcode project in $gen. Build: (cd src-tauri && tauri ios build)"
fi
