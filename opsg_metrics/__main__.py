"""Entry point for `python -m opsg_metrics`."""

import sys

from .cli import main

sys.exit(main())
