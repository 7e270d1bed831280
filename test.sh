#!/usr/bin/env bash
# Runs every check eshm has, in the order a failure is cheapest to find:
# formatting, lints, docs, the Rust tests (unit, integration, doc, compile-fail,
# multi-process), the loom models, then the Python module: build, pytest, and
# the type stubs checked against the compiled module.
#
#   ./test.sh            everything (what CI runs through .ci/run)
#
# Needs only the Rust toolchain, Python 3 and pip: Python tools go into ./.venv
# (created on first use, from PyPI).
set -euo pipefail
cd "$(dirname "$0")"

start=$(date +%s)
step() { printf '\n==> [%4ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

step "cargo fmt --check; every use of crate:: points down the layers"
python3 .ci/check_layers.py
cargo fmt --all --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "cargo test (unit, integration, doc, compile-fail, multi-process)"
cargo test --workspace --locked

step "compile-fail expectations are current: TRYBUILD=overwrite on a scratch copy changes nothing"
scratch=$(mktemp -d)
cp -r tests/ui "$scratch/ui"
TRYBUILD=overwrite cargo test --locked -q -p eshm-tests --test ui >/dev/null
if ! diff -r "$scratch/ui" tests/ui; then
  rm -rf tests/ui && cp -r "$scratch/ui" tests/ui
  echo "stale .stderr files under tests/ui: regenerate them with TRYBUILD=overwrite" >&2
  exit 1
fi
for f in tests/ui/*/*.stderr; do
  [ -f "${f%.stderr}.rs" ] || { echo "$f has no test case" >&2; exit 1; }
done
rm -rf "$scratch"

step "loom models of the shared-memory protocols (release build, --cfg loom)"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
  cargo test --locked -p eshm --lib --release --target-dir target/loom loom_

step "python: tools in .venv (maturin, pytest, mypy, mcap readers, numpy)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  "maturin>=1.9.4,<2" "pytest>=8" "pytest-timeout>=2" "mypy>=1.18" "typing_extensions>=4.12" \
  "mcap==1.6.0" "mcap-ros2-support==0.6.0" \
  "numpy>=1.24"  # mcap: test_mcap.py's third-party reader and CDR decoder (pinned: it uses a private serializer); numpy: the eshm[numpy] extra

step "python: build the eshm module, and the example message module, into .venv (maturin develop)"
(cd eshm-py && ../.venv/bin/maturin develop --quiet --locked)
.venv/bin/maturin develop --quiet --locked -m examples/python/custom_messages/Cargo.toml

step "python: pytest"
.venv/bin/python -m pytest eshm-py/tests -q

step "python: type stubs match the compiled module (mypy.stubtest)"
(cd /tmp && "$OLDPWD/.venv/bin/python" -m mypy.stubtest eshm._eshm eshm.msg \
  --allowlist "$OLDPWD/eshm-py/stubtest-allowlist.txt")

step "python: the examples, and what a user's script infers, pass mypy --strict"
.venv/bin/python -m mypy --strict examples/python/*.py eshm-py/typing/check_inference.py

step "done: every check passed"
