"""``python -m conformance``: the same as the ``conformance`` command."""

from conformance.run.cli import console_main

console_main()
