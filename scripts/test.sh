#!/usr/bin/env bash
# The one test command: installs what the tests need, then lint, types, tests.
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need, each installed only when missing:
# - chromium: the browser tests drive Debian's Chromium; Playwright cannot download its own here;
# - nodejs, npm: the accessibility test injects axe-core (npm) into the page;
# - fonts-wqy-microhei: a CJK face, so the sandbox draws Chinese prompts (as the Docker image does).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
(cd tests/a11y && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

echo "== ruff"; python -m ruff check playground tests benchmarks app.py
echo "== mypy"; python -m mypy
echo "== hadolint"; hadolint Dockerfile
# A browser step that times out on a loaded 2-core machine is tried once more; a second timeout fails.
echo "== pytest"; python -m pytest -q -p no:cacheprovider -n 3 --dist loadfile --reruns 1 --only-rerun "TimeoutError" "$@"
