# Sourced by start.sh and test.sh: make .venv and install the project into it on first use,
# and again whenever pyproject.toml changes. Needs Python 3.11+ (set PYTHON to pick one).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "PlasticVision needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    exit 2
fi
venv="$root/.venv"
# Optional extras to install too (CI sets PLASTICVISION_EXTRAS=camera,ray,redis), e.g. "ray,redis".
extras="test${PLASTICVISION_EXTRAS:+,$PLASTICVISION_EXTRAS}"
stamp="$venv/.installed-$( (cat "$root/pyproject.toml"; echo "$extras") | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "Setting up $venv (first run, about a minute)..." >&2
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e "$root[$extras]"
    rm -f "$venv"/.installed-*
    touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
