"""Entry point for `python -m opsg_metrics`."""

import sys

from opsg_metrics.cli import main

if __name__ == "__main__":
    sys.exit(main())
