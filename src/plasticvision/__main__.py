"""`python -m plasticvision` runs the CLI."""

import sys

from plasticvision.cli import main

sys.exit(main())
