#!/usr/bin/env bash
# The library environment: losslint's rules for timm, segmentation_models_pytorch (smp), torchvision
# and MONAI, tested against the real libraries and their real models (tiny, built from configs).
#
#   tests/libraries.sh            # install (once) and run
#
# timm and smp need torchvision, and PyPI's torchvision is a CUDA build that does not import beside
# the CPU torch of the main environment. This venv (under $LOSSLINT_VENVS, default .venvs/) takes
# torch 2.14.1 and torchvision 0.29.1 instead (CUDA builds, which run on a CPU-only machine; the CI
# machines have them on a local index), with the `test` and `libraries` extras, and runs the library
# tests with LOSSLINT_REQUIRE_LIBRARIES=1: there, a library that does not import is a failure.
# Disk: as tests/versions.sh, a venv that does not fit ($LOSSLINT_RELEASE_GB, default 8 GB free) is
# reported as not run; LOSSLINT_DISCARD_VENVS=1 removes it afterwards.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venvs=${LOSSLINT_VENVS:-$root/.venvs}
venv="$venvs/libraries"
tests=(tests/test_lib_*.py tests/test_rule_examples.py tests/test_transformers.py tests/test_library_contract_matrix.py)
mkdir -p "$venvs"
need_gb=${LOSSLINT_RELEASE_GB:-8}
free_gb=$(df -Pk "$venvs" | awk 'NR==2 { printf "%d", $4 / 1048576 }')
if [ ! -f "$venv/.ready" ]; then
  if [ "$free_gb" -lt "$need_gb" ]; then
    echo "library tests: not run, $free_gb GB free under $venvs (the environment needs about $need_gb GB)"
    exit 0
  fi
  echo "== libraries: installing into $venv"
  rm -rf "$venv"
  python -m venv "$venv"
  log=$(mktemp)
  "$venv/bin/python" -m pip install --quiet --no-cache-dir "torch==2.14.1" "torchvision==0.29.1" ".[test,libraries]" >"$log" 2>&1
  installed=$?
  grep -v "^WARNING: Location" "$log"
  if [ $installed -ne 0 ]; then
    rm -rf "$venv"
    if grep -q "No space left on device" "$log"; then
      echo "library tests: not run, the disk filled while installing"
      rm -f "$log"
      exit 0
    fi
    rm -f "$log"
    echo "library tests: install failed"
    exit 1
  fi
  rm -f "$log"
  touch "$venv/.ready"
fi
"$venv/bin/python" -c 'import torch, torchvision, timm, segmentation_models_pytorch as smp, monai; print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, timm {timm.__version__}, smp {smp.__version__}, monai {monai.__version__}")'
# losslint from this source tree (the venv's installed copy may be older when the venv is reused).
PYTHONPATH="$root" LOSSLINT_REQUIRE_LIBRARIES=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider "${tests[@]}"
rc=$?
if [ "${LOSSLINT_DISCARD_VENVS:-0}" = 1 ]; then rm -rf "$venv"; fi
exit $rc
