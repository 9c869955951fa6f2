"""cap-mcp: an MCP server for Capillary CRM and loyalty, with confirmation guards on every change."""

__version__ = "0.1.0"
