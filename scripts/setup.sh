#!/usr/bin/env bash
# Install everything simgen needs into ./.venv (idempotent; safe to re-run).
#   - Debian packages for headless OpenGL (EGL + Mesa) and Python's venv, when missing:
#     installed with apt-get when run as root, otherwise named in a clear message.
#   - A virtualenv with simgen (editable), and the asset library's setup-time files.
# With --test: also the test tools, PyTorch (CPU) for the gap check, and Debian's chromium
# (the HTML report test opens the page in headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) TEST=1 ;;
    *) echo "setup: unknown option $arg (expected --test)" >&2; exit 2 ;;
  esac
done

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$candidate"; break
    fi
  done
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  packages=(libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1)
  [ "$TEST" = 1 ] && packages+=(chromium)
  for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ -z "$PY" ]; then
    missing+=(python3 python3-venv)
  elif [ ! -d .venv ] && ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
if [ -z "$PY" ]; then
  for candidate in python3.11 python3; do
    command -v "$candidate" >/dev/null 2>&1 && PY="$candidate" && break
  done
fi
[ -n "$PY" ] || { echo "setup: Python 3.11 or newer is required" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/python -m pip install -q --upgrade pip
if [ "$TEST" = 1 ]; then
  .venv/bin/python -m pip install -q -e ".[test,gap]"
else
  .venv/bin/python -m pip install -q -e .
fi
# The asset library's setup-time files (CC0 / public-domain photos from the pinned scikit-image
# wheel), verified by sha256 against assets/index.yaml; a no-op when they are in place.
.venv/bin/simgen assets install
echo "setup: ready ($(.venv/bin/python --version), simgen $(.venv/bin/python -c 'import simgen; print(simgen.__version__)'))"
