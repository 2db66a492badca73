"""The OpenAPI descriptions, installed as the package ``conformance.specs`` (see pyproject.toml)."""
