# Sourced by start.sh and test.sh: make .venv and install the exact versions in uv.lock into it on
# first use, and again whenever uv.lock, pyproject.toml or the chosen extras change.
# Needs Python 3.11+ (set PYTHON to pick one). The lock, not pyproject.toml's ranges, decides
# what is installed, so a clone installs today what it installs next month; scripts/test-latest.sh
# tries the newest releases instead, and `uv lock --upgrade` moves the lock forward.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "PlasticVision needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    exit 2
fi
venv="${PLASTICVISION_VENV:-$root/.venv}"
# Optional extras to install too (CI sets PLASTICVISION_EXTRAS=camera,ray,redis,...), e.g. "ray,redis".
extras="test${PLASTICVISION_EXTRAS:+,$PLASTICVISION_EXTRAS}"
stamp="$venv/.installed-$( (cat "$root/uv.lock" "$root/pyproject.toml"; echo "$extras") | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "Setting up $venv from uv.lock (first run, about a minute)..." >&2
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    # uv itself comes pinned with hashes; it then installs the lock's exact versions (hashes checked).
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
        -r "$root/scripts/uv-requirements.txt"
    extra_flags=()
    IFS=, read -ra wanted <<<"$extras"
    for extra in "${wanted[@]}"; do extra_flags+=(--extra "$extra"); done
    UV_PROJECT_ENVIRONMENT="$venv" "$venv/bin/uv" sync --quiet --locked --inexact \
        --project "$root" --python "$venv/bin/python" "${extra_flags[@]}"
    rm -f "$venv"/.installed-*
    touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
