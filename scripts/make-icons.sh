#!/usr/bin/env bash
# Makes every app icon in icons/ from the one source drawing assets/icon/spondon.svg.
# Needs Debian's librsvg2-bin (rsvg-convert), imagemagick (.ico) and icnsutils (png2icns).
# The icons are committed; run this again after changing the drawing.
set -euo pipefail
cd "$(dirname "$0")/.."
src=assets/icon/spondon.svg
out=icons
mkdir -p "$out"
png() { rsvg-convert -w "$1" -h "$1" "$src" -o "$2"; }

# Tauri desktop bundles (tauri.conf.json "bundle.icon").
png 32 "$out/32x32.png"
png 128 "$out/128x128.png"
png 256 "$out/128x128@2x.png"
png 512 "$out/icon.png"
# Windows: one .ico with the sizes Explorer asks for.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in 16 24 32 48 64 256; do png "$s" "$tmp/$s.png"; done
convert "$tmp"/16.png "$tmp"/24.png "$tmp"/32.png "$tmp"/48.png "$tmp"/64.png "$tmp"/256.png "$out/icon.ico"
# macOS / iOS bundle icon.
for s in 16 32 48 128 256 512; do png "$s" "$tmp/icns-$s.png"; done
png2icns "$out/icon.icns" "$tmp"/icns-{16,32,48,128,256,512}.png >/dev/null
# Windows Store tiles.
for s in 30 44 71 89 107 142 150 284 310; do png "$s" "$out/Square${s}x${s}Logo.png"; done
png 50 "$out/StoreLogo.png"
# Android launcher icons (mipmap densities), for mobile/.
for d in mdpi:48 hdpi:72 xhdpi:96 xxhdpi:144 xxxhdpi:192; do
  mkdir -p "$out/android/mipmap-${d%%:*}"
  png "${d##*:}" "$out/android/mipmap-${d%%:*}/ic_launcher.png"
done
# iOS app icon set sizes (points × scale), for mobile/.
mkdir -p "$out/ios"
for s in 20 29 40 58 60 76 80 87 120 152 167 180 1024; do png "$s" "$out/ios/AppIcon-${s}.png"; done
echo "icons written to $out/"
