"""Configuration: one typed `Settings` object from `CAP_MCP_*` environment variables and flags.

Credentials are `SecretStr`, so a repr, a log line or an error never shows them.
`load_settings` turns every validation failure into a `ConfigError` whose message
is one line naming the setting and what to do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from .redaction import redact_url

ENV_PREFIX = "CAP_MCP_"

# Capillary's hosts per cluster, as the reference lists them. Operations say which host serves them
# (api by default); hosts the reference does not give for a cluster are set with CAP_MCP_HOST_URLS.
HOSTS = ("api", "intouch", "storecare", "recommendations", "auth", "api_gateway")
_APAC = {
    "api": "https://apac.api.capillarytech.com",
    "intouch": "https://intouch.capillary.co.in",
    "storecare": "https://storecare.capillarytech.com",
    "recommendations": "https://incrm.cc.capillarytech.com",
    "auth": "https://apac-s3wrapper.capillarytech.com",
    "api_gateway": "https://apac-apigateway.capillarytech.com",
}
CLUSTERS: dict[str, dict[str, str]] = {
    "india": _APAC,
    "apac": _APAC,
    "apac2": {
        "api": "https://apac2.api.capillarytech.com",
        "intouch": "https://apac2.intouch.capillarytech.com",
        "storecare": "https://sg.storecare.capillarytech.com",
        "recommendations": "https://sgcrm.cc.capillarytech.com",
        "auth": "https://apac2-auth-api.capillarytech.com",
        "api_gateway": "https://apac2-api-gateway.capillarytech.com",
    },
    "eu": {
        "api": "https://eu.api.capillarytech.com",
        "intouch": "https://eu.intouch.capillarytech.com",
        "storecare": "https://eu.storecare.capillarytech.com",
        "recommendations": "https://eucrm.cc.capillarytech.com",
        "auth": "https://eu-auth-api.capillarytech.com",
    },
    "us": {
        "api": "https://us.api.capillarytech.com",
        "intouch": "https://us.intouch.capillarytech.com",
        "storecare": "https://us.storecare.capillarytech.com",
    },
    "china": {
        "api": "https://api.capillarytech.cn.com",
        "intouch": "https://intouch.capillarytech.cn.com",
        "storecare": "https://storecare.capillarytech.cn.com",
    },
}

ATTRIBUTION_TYPES = (
    "TILL",
    "STORE_CODE",
    "STORE_NAME",
    "STORE_EXTERNAL_ID",
    "STORE_EXTERNAL_ID_1",
    "STORE_EXTERNAL_ID_2",
)

CommaList = Annotated[tuple[str, ...], Field(description="comma-separated")]


class ConfigError(ValueError):
    """A setting is wrong or missing; the message says which and what to do."""


def _default_audit_path() -> str:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return str(Path(state) / "cap-mcp" / "audit.jsonl")


class Settings(BaseModel):
    """Everything cap-mcp can be told. Environment: CAP_MCP_<FIELD>; flags override."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    # Where Capillary is.
    base_url: str | None = Field(None, description="Full base URL (sandbox, tests, proxies); overrides cluster")
    host_urls: CommaList = Field((), description="Other hosts, e.g. intouch=https://...,auth=https://...")
    cluster: Literal["india", "apac", "apac2", "eu", "us", "china"] | None = None
    sandbox: bool = Field(False, description="Use the embedded sandbox instead of Capillary")

    # How to authenticate.
    auth: Literal["basic", "oauth"] = "basic"
    username: str | None = None
    password: SecretStr | None = None
    client_key: str | None = None
    client_secret: SecretStr | None = None

    # Attribution: on whose behalf (till or store) data is posted.
    attribution_entity_type: str | None = None
    attribution_entity_code: str | None = None
    attribution_lookup_type: str | None = None
    attribution_lookup: str | None = None

    # The shared HTTP client.
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    max_connections: int = Field(20, ge=1, le=500)
    read_retries: int = Field(2, ge=0, le=5, description="Retries of a read on a transient failure")
    result_budget_tokens: int = Field(
        20_000, ge=1_000, le=1_000_000, description="Largest tool result, in tokens (answers beyond are cut)"
    )
    max_answer_bytes: int = Field(
        8 * 1024 * 1024, ge=64 * 1024, le=512 * 1024 * 1024, description="Largest answer read (after decompression)"
    )

    # What the model sees.
    toolsets: CommaList = ("default",)
    tools: CommaList = ()
    exclude_tools: CommaList = ()
    read_only: bool = False
    dynamic: bool = False
    discovery: Literal["all", "selected", "off"] = Field(
        "all", description="What the discovery tools reach: every operation, only the selection, or nothing"
    )
    caller_policies: str | None = Field(None, description="Per-caller policies over HTTP: JSON, inline or a file")

    # Confirmation guards.
    guards: Literal["all", "destructive", "off"] = Field(
        "all", description="all: every non-read tool confirms; destructive: writes run unconfirmed; off: none"
    )
    require_elicitation: bool = Field(False, description="No confirmation-token fallback")
    state_key: SecretStr | None = Field(None, description="Key(s) sealing confirmations, comma-separated, 32+ chars")
    confirmation_ttl: int = Field(300, ge=30, le=3600, description="Seconds a confirmation stays valid")
    audit_log: str = Field(default_factory=_default_audit_path, description="JSON-lines audit file, or 'off'")

    # Serving over HTTP.
    http_token: SecretStr | None = Field(None, description="Accepted bearer tokens, comma-separated")
    token_verifier: str | None = Field(None, description="module:factory returning an MCP TokenVerifier")
    state_url: SecretStr | None = Field(None, description="Shared guard state, e.g. redis://127.0.0.1:6379/0")
    allowed_hosts: CommaList = ()
    allowed_origins: CommaList = ()
    # Upstream calls one caller may have in flight; unset: the whole connection pool (max_connections).
    max_concurrent_per_caller: int | None = Field(None, ge=1, le=1000)
    metrics_token: SecretStr | None = Field(None, description="Bearer token for GET /metrics (a scraper's own)")

    # Operating.
    log_format: Literal["text", "json"] = Field("text", description="Log lines on stderr: text, or JSON objects")

    @field_validator(
        "toolsets", "tools", "exclude_tools", "allowed_hosts", "allowed_origins", "host_urls", mode="before"
    )
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("host_urls")
    @classmethod
    def _check_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            name, _, url = item.partition("=")
            if name not in HOSTS or not url.startswith(("http://", "https://")):
                shown = f"{name}={redact_url(url)}" if url else redact_url(item)
                raise ValueError(f"expected host=URL pairs with host one of {', '.join(HOSTS)}, got {shown!r}")
        return value

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("attribution_entity_type")
    @classmethod
    def _check_attribution(cls, value: str | None) -> str | None:
        if value is not None and value not in ATTRIBUTION_TYPES:
            raise ValueError(f"must be one of {', '.join(ATTRIBUTION_TYPES)}")
        return value

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        if self.sandbox:
            return self
        if self.base_url is None and self.cluster is None:
            raise ValueError(
                "CAP_MCP_CLUSTER or CAP_MCP_BASE_URL is required: set CAP_MCP_CLUSTER to "
                f"{_either(CLUSTERS)} (or run with --sandbox to try cap-mcp without Capillary)"
            )
        if self.auth == "basic":
            for name in ("username", "password"):
                if getattr(self, name) is None:
                    raise ValueError(
                        f"{ENV_PREFIX}{name.upper()} is required when CAP_MCP_AUTH=basic: set it to your till's "
                        f"{'user name' if name == 'username' else 'password'}"
                    )
        else:
            for name, what in (("client_key", "OAuth client key"), ("client_secret", "OAuth client secret")):
                if getattr(self, name) is None:
                    raise ValueError(
                        f"{ENV_PREFIX}{name.upper()} is required when CAP_MCP_AUTH=oauth: set it to your {what}"
                    )
        if (self.attribution_lookup is None) != (self.attribution_lookup_type is None):
            raise ValueError("CAP_MCP_ATTRIBUTION_LOOKUP and CAP_MCP_ATTRIBUTION_LOOKUP_TYPE go together: set both")
        return self

    @property
    def api_base_url(self) -> str:
        return self.host_map()["api"]

    def host_map(self) -> dict[str, str]:
        """Base URL per host name: explicit CAP_MCP_HOST_URLS, else base_url, else the cluster's."""
        hosts = {name: self.base_url for name in HOSTS} if self.base_url else dict(CLUSTERS[self.cluster or "eu"])
        for item in self.host_urls:
            name, _, url = item.partition("=")
            hosts[name] = url.rstrip("/")
        return hosts

    def state_keys(self) -> list[str]:
        if self.state_key is None:
            return []
        return [k.strip() for k in self.state_key.get_secret_value().split(",") if k.strip()]

    def http_tokens(self) -> list[str]:
        if self.http_token is None:
            return []
        return [t.strip() for t in self.http_token.get_secret_value().split(",") if t.strip()]


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment plus explicit overrides (flags); raise `ConfigError` on a fault."""
    _refuse_unknown_environment()
    # The environment is read here, by hand: pydantic-settings did the same but cost ~90 ms at every start.
    # An empty variable counts as unset (a launcher that fills every variable from a form leaves blanks).
    values: dict[str, Any] = {
        name: os.environ[ENV_PREFIX + name.upper()]
        for name in Settings.model_fields
        if os.environ.get(ENV_PREFIX + name.upper(), "").strip()
    }
    values.update({key: value for key, value in overrides.items() if value is not None})
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
    for key in settings.state_keys():
        if len(key.encode()) < 32:
            raise ConfigError(
                "CAP_MCP_STATE_KEY: each key must be at least 32 characters; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
    return settings


def _either(names: Any) -> str:
    """'a, b or c', for messages that list every valid value."""
    names = list(names)
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)


def _refuse_unknown_environment() -> None:
    """A misspelt CAP_MCP_ variable would silently be ignored; say so instead."""
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    for name in sorted(os.environ):
        if name.startswith(ENV_PREFIX) and name not in known:
            import difflib  # only for a misspelt variable; not worth its import on every start

            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else "; see `cap-mcp serve --help`"
            raise ConfigError(f"{name}: unknown setting{hint}")


def _one_line(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = [str(part) for part in error.get("loc", ()) if part != "__root__"]
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if not location:
        return message
    name = ENV_PREFIX + location[0].upper()
    if error.get("type") == "extra_forbidden":
        return f"{name}: unknown setting; see `cap-mcp serve --help` for the settings there are"
    return f"{name}: {message}"
