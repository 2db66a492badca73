"""Property and stateful tests generated from ``specs/``: generation, the guard between a
generated case and the wire, judging (what a failed schemathesis check means, by clause), and
the pytest plugin the suite's generated tests load."""
