"""Configuration: typed settings from CAP_MCP_* and flags; one clear line for every mistake; secrets hidden."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

from cap_mcp.config import ConfigError, load_settings


def test_oauth_without_a_client_key_names_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("CAP_MCP_AUTH", "oauth")
    monkeypatch.setenv("CAP_MCP_CLUSTER", "eu")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value) == "CAP_MCP_CLIENT_KEY is required when CAP_MCP_AUTH=oauth: set it to your OAuth client key"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CAP_MCP_USERNAME": "u", "CAP_MCP_PASSWORD": "p"}, "CAP_MCP_CLUSTER or CAP_MCP_BASE_URL is required"),
        ({"CAP_MCP_CLUSTER": "mars"}, "CAP_MCP_CLUSTER: Input should be"),
        ({"CAP_MCP_BASE_URL": "ftp://x"}, "CAP_MCP_BASE_URL: must start with http:// or https://"),
        ({"CAP_MCP_CLUSTR": "eu"}, "CAP_MCP_CLUSTR: unknown setting; did you mean CAP_MCP_CLUSTER?"),
        ({"CAP_MCP_SANDBOX": "1", "CAP_MCP_STATE_KEY": "short"}, "CAP_MCP_STATE_KEY: each key must be at least 32"),
        (
            {"CAP_MCP_SANDBOX": "1", "CAP_MCP_GUARDS": "some"},
            "CAP_MCP_GUARDS: Input should be 'all', 'destructive' or 'off'",
        ),
    ],
)
def test_mistakes_give_one_line_naming_the_setting(monkeypatch, env: dict[str, str], message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="^" + message.replace("?", r"\?").replace("(", r"\(")) as error:
        load_settings()
    assert "\n" not in str(error.value)


def test_secrets_never_print(monkeypatch) -> None:
    settings = load_settings(cluster="eu", auth="oauth", client_key="key-1", client_secret="s3cr3t-value",
                             password="p4ssw0rd", http_token="alice:t0ken", state_key="k" * 40)  # fmt: skip
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "s3cr3t-value" not in text and "p4ssw0rd" not in text and "t0ken" not in text and "k" * 40 not in text


def test_lists_and_hosts(monkeypatch) -> None:
    monkeypatch.setenv("CAP_MCP_TOOLSETS", "points, coupon")
    settings = load_settings(cluster="apac2", username="u", password="p", host_urls="auth=https://auth.example")
    assert settings.toolsets == ("points", "coupon")
    hosts = settings.host_map()
    assert hosts["api"] == "https://apac2.api.capillarytech.com"
    assert hosts["storecare"] == "https://sg.storecare.capillarytech.com"
    assert hosts["auth"] == "https://auth.example"
    assert set(load_settings(base_url="http://127.0.0.1:9", username="u", password="p").host_map().values()) == {
        "http://127.0.0.1:9"
    }


def test_the_command_line_stops_with_one_line() -> None:
    env = {"PATH": "/usr/bin:/bin", "CAP_MCP_AUTH": "oauth", "CAP_MCP_CLUSTER": "eu"}
    out = subprocess.run([sys.executable, "-m", "cap_mcp", "serve"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == (
        "cap-mcp: configuration error: CAP_MCP_CLIENT_KEY is required when CAP_MCP_AUTH=oauth: "
        "set it to your OAuth client key"
    )
