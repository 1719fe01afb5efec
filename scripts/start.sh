#!/usr/bin/env bash
# Start the product: the server and the web app on http://localhost:8000.
# Extra arguments go to `plasticvision serve` (e.g. --engine dlib --host 0.0.0.0).
source "$(dirname "$0")/venv.sh"
exec plasticvision serve "$@"
