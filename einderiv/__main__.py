"""``python -m einderiv``: the command-line interface."""

import sys

from einderiv.cli import main

sys.exit(main())
