"""Client libraries under test: the adapter interface, the official SDK adapter, the checks."""

from conformance.clientlib.adapter import (
    DEFAULT_ADAPTER,
    RELAY_KEY,
    AdapterError,
    AdapterFactory,
    AdapterTarget,
    ClientAdapter,
    ClientError,
    MisroutedRequest,
    RelayTransport,
    load_factory,
    open_adapter,
)

__all__ = ["DEFAULT_ADAPTER", "RELAY_KEY", "AdapterError", "AdapterFactory", "AdapterTarget",
           "ClientAdapter", "ClientError", "MisroutedRequest", "RelayTransport", "load_factory",
           "open_adapter"]
