"""OpenTelemetry traces: off by default; with OTEL_* set, the outcome on the SDK's tool-call span and one
CLIENT span per upstream request under it, without arguments."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, TRANSFER_ARGS
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from cap_mcp.observe import tracing_requested
from cap_mcp.tracing import TracingObserver

LOOKUP = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}


def test_traces_are_off_unless_an_exporter_or_endpoint_is_named() -> None:
    assert not tracing_requested({})
    assert not tracing_requested({"OTEL_SERVICE_NAME": "cap-mcp"})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing_requested({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing_requested({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"})
    assert not tracing_requested({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"})


def test_the_observer_marks_the_current_span_and_records_upstream_spans_in_memory() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    observer = TracingObserver(lambda name: ("GET", "/v2/customers/{customerId}"), tracer_provider=provider)
    with provider.get_tracer("test").start_as_current_span("tools/call customer_get"):
        observer.upstream("customer_get", 200, 0.05)
        observer.upstream("customer_get", "timeout", 0.3)
        observer.tool_call("customer_get", "not_done", "alice", 0.4, request_id="7")
    first, second, call = exporter.get_finished_spans()
    assert call.attributes == {"cap_mcp.outcome": "not_done"}  # no caller, no request data
    assert first.name == "GET /v2/customers/{customerId}" and first.kind is SpanKind.CLIENT
    assert first.attributes["http.response.status_code"] == 200 and first.parent.span_id == call.context.span_id
    assert first.end_time - first.start_time == pytest.approx(0.05e9, rel=0.01)
    assert second.attributes["error.type"] == "timeout" and not second.status.is_ok


def spans_in(text: str) -> list[dict[str, Any]]:
    """The JSON objects the console exporter wrote, among other stderr lines."""
    decoder, spans, index = json.JSONDecoder(), [], 0
    while (start := text.find("{\n", index)) != -1:
        try:
            span, index = decoder.raw_decode(text, start)
        except ValueError:
            index = start + 1
            continue
        if isinstance(span, dict) and "context" in span:
            spans.append(span)
    return spans


@pytest.mark.anyio
async def test_configured_by_otel_variables_spans_reach_the_exporter(tmp_path: Path) -> None:
    env = {"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "cap-mcp-test", "CAP_MCP_AUDIT_LOG": "off",
           "PATH": os.environ["PATH"]}  # fmt: skip
    params = StdioServerParameters(command=sys.executable, args=["-m", "cap_mcp", "serve", "--sandbox"], env=env,
                                   cwd=str(ROOT))  # fmt: skip
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            assert not (await client.call_tool("customer_lookup", LOOKUP)).is_error
            asked = await client.call_tool("points_transfer", TRANSFER_ARGS)
            assert asked.structured_content["status"] == "confirmation_required"
    text = errors.read_text()
    spans = spans_in(text)
    by_name = {span["name"]: span for span in spans}
    call = by_name["tools/call customer_lookup"]
    assert call["attributes"]["cap_mcp.outcome"] == "done"
    assert call["resource"]["attributes"]["service.name"] == "cap-mcp-test"
    upstream = by_name["GET /v2/customers/lookup/customerDetails"]
    assert upstream["kind"] == "SpanKind.CLIENT"
    assert upstream["parent_id"] == call["context"]["span_id"]
    assert upstream["attributes"]["http.response.status_code"] == 200
    assert upstream["attributes"]["url.template"] == "/v2/customers/lookup/customerDetails"
    assert by_name["tools/call points_transfer"]["attributes"]["cap_mcp.outcome"] == "asked"
    for span in spans:  # arguments and identifiers stay out of traces (the preview's balance read included)
        events = [event.get("attributes") for event in span.get("events") or ()]
        said = json.dumps([span["name"], span["attributes"], events, span["resource"]])  # not its times or ids
        assert "919800000001" not in said and "482913" not in said
