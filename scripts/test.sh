#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup, formatting, lints, every test on SQLite and on a
# real PostgreSQL server with a real Secret Service (GNOME Keyring on a private D-Bus session), the
# wallet app end to end (the built app under Xvfb, driven over WebDriver, axe-core on every screen),
# the app's library checked for Android and iOS, and a short fuzz smoke run of every decoder.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/cache-guard.sh
source scripts/env.sh

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "wallet app: the UI to WebAssembly (ui/dist, which the app embeds)"
scripts/build-ui.sh

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "wallet app for phones: clippy of the app's library for Android and iOS (C via zig cc)"
scripts/check-mobile.sh

step "verifier page: WebAssembly QR decoder"
scripts/build-qr-wasm.sh

step "cargo test (SQLite, PostgreSQL, OS keychain; the verifier page in headless Chromium)"
scripts/with-postgres.sh scripts/with-keyring.sh \
  env SPONDON_REQUIRE_POSTGRES=1 SPONDON_REQUIRE_KEYCHAIN=1 SPONDON_REQUIRE_BROWSER=1 SPONDON_REQUIRE_PDFTOPPM=1 SPONDON_REQUIRE_PYTHON=1 \
  cargo test --workspace --locked --exclude spondon-e2e

step "PostgreSQL failover: a peer on a primary and a synchronous standby; the primary SIGKILLed, the standby promoted"
scripts/with-postgres-ha.sh env SPONDON_REQUIRE_POSTGRES_HA=1 cargo test --locked -p spondon-peer --test failover

step "PostgreSQL standby reads: pulls and tiles from the standby, and from the primary once it is lost"
scripts/with-postgres-ha.sh env SPONDON_REQUIRE_POSTGRES_HA=1 cargo test --locked -p spondon-peer --test standby_reads

step "wallet app end to end: the release app under Xvfb over WebDriver, against real peers and a clinic node"
scripts/e2e-app.sh

step "fuzz smoke run"
scripts/fuzz.sh "${SPONDON_FUZZ_SECONDS:-10}"
