"""`cap-mcp sandbox`: serve the sandbox on 127.0.0.1, or print its seed data."""

from __future__ import annotations

import json
import sys

from .seed import seed_summary


def run_sandbox(*, port: int, seed_only: bool = False, token_ttl: float = 3600.0) -> int:
    if seed_only:
        json.dump(seed_summary(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    import uvicorn

    from ..catalog import load_catalog
    from . import SandboxApp

    app = SandboxApp(load_catalog(validate=False), token_ttl=token_ttl)
    print(
        f"cap-mcp sandbox on http://127.0.0.1:{port} (Basic sandbox.till / sandbox123; "
        "OAuth sandbox-key / sandbox-secret)",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    return 0
