"""OpenTelemetry traces (optional extra `otel`): the outcome on each tool call's span, a span per upstream request.

The SDK already opens a SERVER span per MCP request ("tools/call customer_lookup", with the tool name);
cap-mcp adds its outcome class to that span rather than opening a second one, and opens one CLIENT span
per HTTP request to Capillary inside it (operation, method, the path template, the HTTP status). No
argument, answer or caller identity goes into a span.

Off unless configured with the standard variables: OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) sends traces over OTLP/HTTP, OTEL_TRACES_EXPORTER=console writes them
to stderr; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the service. Run under
`opentelemetry-instrument` instead and cap-mcp uses the tracer provider it set up.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from . import __version__
from .observe import NullObserver

log = logging.getLogger("cap_mcp.tracing")

# (method, path template) of an operation, for span attributes.
Route = Callable[[str], tuple[str, str] | None]


class TracingObserver(NullObserver):
    def __init__(self, route: Route | None = None, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._route = route or (lambda name: None)
        self._tracer = trace.get_tracer("cap_mcp", __version__, tracer_provider=tracer_provider)

    def tool_call(
        self, tool: str, outcome: str, caller: str | None, seconds: float, *, request_id: str | None = None
    ) -> None:
        span = trace.get_current_span()  # the SDK's "tools/call <tool>" span
        if span.is_recording():
            span.set_attribute("cap_mcp.outcome", outcome)

    def upstream(self, operation: str, status: int | str, seconds: float) -> None:
        end = time.time_ns()
        attributes: dict[str, Any] = {"cap_mcp.operation": operation}
        route = self._route(operation)
        if route is not None:
            attributes["http.request.method"], attributes["url.template"] = route
        if isinstance(status, int):
            attributes["http.response.status_code"] = status
        else:
            attributes["error.type"] = status
        name = f"{route[0]} {route[1]}" if route else f"capillary {operation}"
        span = self._tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes,
                                       start_time=end - int(seconds * 1e9))  # fmt: skip
        if not isinstance(status, int) or status >= 500:
            span.set_status(StatusCode.ERROR)
        span.end(end_time=end)


def configure_tracing() -> bool:
    """Install an SDK tracer provider and exporter from the OTEL_* variables, unless one is installed already."""
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return True  # e.g. under opentelemetry-instrument
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SimpleSpanProcessor,
        )
    except ImportError:
        log.warning(
            "OTEL_* variables ask for traces, but opentelemetry-sdk is not installed: pip install 'cap-mcp[otel]'"
        )
        return False
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")[0].strip() or "otlp"
    attributes = {"service.version": __version__}
    if not os.environ.get("OTEL_SERVICE_NAME") and "service.name=" not in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    ):
        attributes["service.name"] = "cap-mcp"
    provider = TracerProvider(resource=Resource.create(attributes))
    if exporter_name == "console":
        # Never stdout: over stdio that is the MCP channel.
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    elif exporter_name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning("OTLP traces need opentelemetry-exporter-otlp-proto-http: pip install 'cap-mcp[otel]'")
            return False
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        log.warning("OTEL_TRACES_EXPORTER=%s is not supported here (otlp or console); traces are off", exporter_name)
        return False
    trace.set_tracer_provider(provider)
    return True
