#!/usr/bin/env bash
# Run the whole test suite. Extra arguments go to pytest (e.g. -k stream -x).
source "$(dirname "$0")/venv.sh"
cd "$root"
exec python -m pytest "$@"
