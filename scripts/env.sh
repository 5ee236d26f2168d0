# Sourced by the other scripts: one build cache outside the clone, so a second run is fast.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/spondon/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Incremental compilation caches take gigabytes and do not speed up a one-shot build.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
