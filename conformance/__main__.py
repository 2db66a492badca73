"""``python -m conformance``: the same as the ``conformance`` command."""

import sys

from conformance.run.cli import main

sys.exit(main())
