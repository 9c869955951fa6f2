"""Entry point of the cap-mcp bundle: the packages bundled in lib/ come first, then the `cap-mcp` command."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from cap_mcp.cli import main  # after the bundled packages are on the path

raise SystemExit(main(sys.argv[1:]))
