"""The embedded Capillary sandbox: a stateful simulation for demos, first tries and end-to-end tests."""

from .app import CLIENT_KEY, CLIENT_SECRET, PASSWORD, USERNAME, Fault, Faults, SandboxApp

__all__ = ["CLIENT_KEY", "CLIENT_SECRET", "PASSWORD", "USERNAME", "Fault", "Faults", "SandboxApp"]
