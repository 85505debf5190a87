"""``python -m txlanes`` is the ``txlanes`` command."""

import sys

from txlanes.cli import main

sys.exit(main())
