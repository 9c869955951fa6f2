"""The embedded Capillary sandbox: a stateful simulation for demos, first tries and end-to-end tests.

The routes and state load on first use (`SandboxApp`), not when a server that may use the sandbox starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .credentials import CLIENT_KEY, CLIENT_SECRET, PASSWORD, USERNAME

if TYPE_CHECKING:
    from .app import Fault, Faults, SandboxApp

__all__ = ["CLIENT_KEY", "CLIENT_SECRET", "PASSWORD", "USERNAME", "Fault", "Faults", "SandboxApp"]


def __getattr__(name: str) -> Any:
    if name in ("Fault", "Faults", "SandboxApp"):
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
