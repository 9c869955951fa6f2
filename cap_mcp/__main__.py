"""`python -m cap_mcp` is the `cap-mcp` command."""

from .cli import main

raise SystemExit(main())
