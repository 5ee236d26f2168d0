#!/usr/bin/env bash
# Keeps the build cache from filling the disk. Cargo never deletes artifacts of old builds, so a
# cache shared by many checkouts grows without bound (one reached 37 GiB and a CI run died with
# "No space left on device"). When the cache is larger than SPONDON_CACHE_MAX_GIB (default 30)
# or the disk has less than SPONDON_DISK_MIN_GIB free (default 12), its build profiles are cleared
# and the next build starts fresh (about 20 minutes on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

max_gib="${SPONDON_CACHE_MAX_GIB:-30}"
min_free_gib="${SPONDON_DISK_MIN_GIB:-12}"
dir="$CARGO_TARGET_DIR"
[ -d "$dir" ] || exit 0

used_gib=$(( $(du -sk "$dir" | cut -f1) / 1024 / 1024 ))
free_gib=$(( $(df -Pk "$dir" | awk 'NR==2 {print $4}') / 1024 / 1024 ))
if [ "$used_gib" -gt "$max_gib" ] || [ "$free_gib" -lt "$min_free_gib" ]; then
  echo "cache-guard: $dir holds ${used_gib} GiB, ${free_gib} GiB free on its disk: clearing its builds"
  for sub in debug release ui-release wasm32-unknown-unknown x86_64-unknown-linux-gnu \
    aarch64-linux-android aarch64-apple-ios; do
    rm -rf "${dir:?}/$sub"
  done
fi
