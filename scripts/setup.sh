#!/usr/bin/env bash
# Set up .venv for the app (`setup.sh app`) or for the tests (`setup.sh test`), or the separate
# benchmark venv .venv-bench with SAELens (`setup.sh bench`: never in .venv, so SAELens's
# dependencies cannot move the project's pins).
# Idempotent and quick when nothing changed: installs run only when the requirement files'
# hash differs from the one recorded after the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-app}
python=${PYTHON:-python3}
venv=.venv
[ "$mode" = bench ] && venv=.venv-bench

if [ ! -x $venv/bin/python ]; then
  echo "setup: creating $venv with $($python --version)"
  "$python" -m venv $venv
fi

files=requirements.txt
[ "$mode" = test ] && files="requirements.txt requirements-test.txt"
[ "$mode" = bench ] && files="requirements.txt requirements-bench.txt"
want=$(cat $files | sha256sum | cut -c1-16)
stamp=$venv/.installed-$mode
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # torch first and on its own: the pinned version resolves to the local CPU wheel, and every
  # later torch-dependent package then finds it installed instead of pulling CUDA builds.
  # The pin is also a constraint of the later install, so no dependency (SAELens's) replaces it.
  torch_pin=$(grep -E '^torch==' requirements.txt)
  echo "$torch_pin" > $venv/constraints.txt
  echo "setup: installing $torch_pin in $venv"
  $venv/bin/pip install --quiet --disable-pip-version-check "$torch_pin"
  echo "setup: installing $files"
  args=()
  for f in $files; do args+=(-r "$f"); done
  $venv/bin/pip install --quiet --disable-pip-version-check -c $venv/constraints.txt "${args[@]}"
  $venv/bin/python -c "import torch; assert torch.__version__.split('+')[0] == '${torch_pin#torch==}', torch.__version__" \
    || { echo "setup: torch in $venv is not ${torch_pin#torch==}"; exit 1; }
  echo "$want" > "$stamp"
fi

if [ "$mode" = test ] && ! command -v chromium >/dev/null 2>&1; then
  # Browser tests drive Debian's Chromium through playwright (never `playwright install`).
  echo "setup: installing Debian's chromium for the browser tests"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
