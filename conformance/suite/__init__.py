"""The conformance suite: one scenario test module per clause family, shipped in the package."""
