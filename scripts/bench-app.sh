#!/usr/bin/env bash
# The wallet app's figures: the sync of 1,000 records in the app (and how responsive the window
# stays meanwhile), unlock to the records list with those records, and cold start to the
# interactive unlock screen (median of 10). The same set-up as scripts/e2e-app.sh (release app
# under Xvfb over WebDriver, GNOME Keyring, the demo's world), with 1,000 more records issued to
# the patient first. Prints the figures; asserts no times. Not part of the test suite.
#   scripts/bench-app.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# Its own artifacts folder, so that it leaves the end-to-end test's screenshots alone.
SPONDON_E2E_ARTIFACTS="${SPONDON_E2E_ARTIFACTS:-$CARGO_TARGET_DIR/artifacts/app-bench}" \
  SPONDON_E2E_BENCH_RECORDS="${SPONDON_E2E_BENCH_RECORDS:-1000}" SPONDON_E2E_TEST=bench exec scripts/e2e-app.sh "$@"
