#!/usr/bin/env bash
# The torch-release matrix: run losslint's contract tests against other torch releases.
#
#   tests/versions.sh 2.4.1 2.9.1 2.15.0      # any list of releases
#
# For each release, a venv of its own (under $LOSSLINT_VENVS, default .venvs/) gets that torch and the
# test dependencies, and runs, with losslint from this source tree:
#   - test_conformance.py   torch's own sample and error inputs (OpInfo / ModuleInfo)
#   - test_differential.py  the saved differential case set (tests/data/differential_cases.json) and
#                           a short hypothesis run
#   - test_combinations.py  every dtype and plausible shape over every tensor argument of valid calls
#   - test_rule_examples.py every rule file's examples, run through losslint and torch
#   - test_autocast.py      mixed precision: every loss x {f32, f16, bf16} x CPU autocast x sizes x reductions
#   - test_value_range.py   the one-pass value range rests on torch.aminmax propagating NaN, in every float dtype
#   - the hooks in compiled code (test_tracing, test_compiled_hooks, test_compiled_watches, test_device_asserts)
#     and around torch's own errors and warnings (test_torch_raised, test_torch_warnings_place): Dynamo's
#     tracing differs between releases; the steady state's wrappers, written from each release's
#     functional signatures (test_steady_matching); and copies and saves of a model that holds an attached criterion
#     (test_attach_copies: the wrapped forward deep-copies and pickles through each release's Module)
# and prints one line per release. Exit status: 0 when every release passed.
#
# Only torch 2.13.0 has a local CPU wheel on the CI machines; other releases are CUDA builds from the
# registry (4-5 GB with their nvidia wheels, 2-4 minutes each), which run on a CPU-only machine. The
# machines' pip constraint file caps torch at 2.14.1; PIP_CONSTRAINT=/dev/null lifts it for this install.
#
# Disk: a release needs about $LOSSLINT_RELEASE_GB (default 8) GB free while it installs. A release that
# does not fit is reported as "not run" with the free space seen, and does not fail the run: the disk of
# a CI machine is not the project's to set, and a matrix that cannot install says nothing about losslint.
# LOSSLINT_DISCARD_VENVS=1 (as .ci/run sets) removes each venv after its run, so releases run one at a
# time in the space of one.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venvs=${LOSSLINT_VENVS:-$root/.venvs}
tests=(tests/test_releases.py tests/test_tracing.py tests/test_compiled_hooks.py tests/test_attach_copies.py tests/test_compiled_watches.py tests/test_torch_raised.py tests/test_torch_warnings_place.py tests/test_steady_matching.py tests/test_value_range.py tests/test_device_asserts.py tests/test_torch_quotes.py tests/test_conformance.py tests/test_differential.py tests/test_combinations.py tests/test_rule_examples.py tests/test_autocast.py)
[ $# -gt 0 ] || { echo "usage: tests/versions.sh RELEASE [RELEASE ...]" >&2; exit 2; }
mkdir -p "$venvs"
summary=()
status=0
need_gb=${LOSSLINT_RELEASE_GB:-8}
free_gb() { df -Pk "$venvs" | awk 'NR==2 { printf "%d", $4 / 1048576 }'; }
for release in "$@"; do
  venv="$venvs/torch-$release"
  if [ ! -f "$venv/.ready" ] && [ "$(free_gb)" -lt "$need_gb" ]; then
    echo "== torch $release: not run, $(free_gb) GB free under $venvs (an install needs about $need_gb GB)"
    summary+=("torch $release: not run, $(free_gb) GB free (needs about $need_gb GB to install)")
    continue
  fi
  if [ ! -f "$venv/.ready" ]; then
    echo "== torch $release: installing into $venv"
    rm -rf "$venv"
    python -m venv "$venv"
    # torch.testing._internal needs expecttest, and packaging on some releases (torch does not declare it).
    install_log=$(mktemp)
    PIP_CONSTRAINT=/dev/null "$venv/bin/python" -m pip install --quiet --no-cache-dir \
        "torch==$release" "pydantic>=2" pytest expecttest "hypothesis>=6" numpy packaging >"$install_log" 2>&1
    installed=$?
    # The machines' pip prints one warning per missing local index folder; the rest is worth seeing.
    grep -v "^WARNING: Location" "$install_log"
    if [ $installed -ne 0 ]; then
      rm -rf "$venv"
      if grep -q "No space left on device" "$install_log"; then
        summary+=("torch $release: not run, the disk filled while installing ($(free_gb) GB free after removing it)")
      else
        summary+=("torch $release: install failed")
        status=1
      fi
      rm -f "$install_log"
      continue
    fi
    rm -f "$install_log"
    touch "$venv/.ready"
  fi
  echo "== torch $release: ${tests[*]}"
  start=$(date +%s)
  log="$venv/pytest.log"
  PYTHONPATH="$root" "$venv/bin/python" -m pytest -q -p no:cacheprovider "${tests[@]}" >"$log" 2>&1
  rc=$?
  tail -n 30 "$log"
  result=$(tail -n 1 "$log" | sed 's/=//g; s/^ *//; s/ *$//')
  summary+=("torch $release ($("$venv/bin/python" -c 'import torch; print(torch.__version__)' 2>/dev/null)): $result, $(( $(date +%s) - start )) s")
  [ $rc -eq 0 ] || status=1
  if [ "${LOSSLINT_DISCARD_VENVS:-0}" = 1 ]; then rm -rf "$venv"; fi
done
echo
echo "release matrix:"
printf '  %s\n' "${summary[@]}"
exit $status
