#!/usr/bin/env bash
# Run the suite against the newest releases pyproject.toml's ranges allow, in a throw-away
# environment, to learn early when a new release breaks us (CI and users install uv.lock instead).
# Extra arguments go to pytest. When it passes, move the lock forward: `uv lock --upgrade`,
# then run ./scripts/test.sh and commit uv.lock. When it fails, fix the code or narrow the range.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
extras="test,${PLASTICVISION_EXTRAS:-camera,ray,redis,webrtc,provenance,docs}"
venv="$(mktemp -d "${TMPDIR:-/tmp}/plasticvision-latest.XXXXXX")"
trap 'rm -rf "$venv"' EXIT
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
    -r "$root/scripts/uv-requirements.txt"
# --refresh: look at the index again rather than at what uv remembers of it.
"$venv/bin/uv" pip install --quiet --refresh --python "$venv/bin/python" -e "$root[$extras]"
echo "Newest releases in $venv:" >&2
"$venv/bin/uv" pip list --python "$venv/bin/python" 2>/dev/null \
    | grep -iE '^(fastapi|starlette|uvicorn|numpy|opencv|onnxruntime|av|pillow|dlib|pydantic|aiortc|c2pa|ray|redis) ' >&2 || true
cd "$root"
PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest "$@"
