"""Shared test configuration: pytester drives throwaway suites through the plugin."""

pytest_plugins = ["pytester"]
