#!/usr/bin/env bash
# Runs every check eshm has, in the order a failure is cheapest to find:
# formatting, lints, docs, the Rust tests (unit, integration, doc, compile-fail,
# multi-process), the loom models, then the Python suite.
#
#   ./test.sh            everything (what CI runs through .ci/run)
#
# Needs only the Rust toolchain, Python 3 and pip: Python tools go into ./.venv.
set -euo pipefail
cd "$(dirname "$0")"

start=$(date +%s)
step() { printf '\n==> [%4ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "cargo test (unit, integration, doc, compile-fail, multi-process)"
cargo test --workspace --locked

step "loom models of the shared-memory protocols (release build, --cfg loom)"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
  cargo test --locked -p eshm --lib --release --target-dir target/loom loom_

step "done: every check passed"
