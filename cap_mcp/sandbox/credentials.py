"""The sandbox's documented credentials: all a start-up needs of the sandbox, without importing its routes."""

USERNAME = "sandbox.till"
PASSWORD = "sandbox123"
CLIENT_KEY = "sandbox-key"
CLIENT_SECRET = "sandbox-secret"
