#!/usr/bin/env node
// A copilot-style client built on the official TypeScript SDK (@modelcontextprotocol/sdk), talking to
// cap-mcp over Streamable HTTP with a bearer token. It declares no elicitation capability, so a guarded
// tool answers with a preview and a confirmation_token, which it passes back on a second, identical call.
//
//   node tests/clients/ts_client.mjs http://127.0.0.1:8000/mcp <bearer-token>
//   (or CAP_MCP_CLIENT_TOKEN=<bearer-token> instead of the second argument)
//
// Prints one JSON summary on stdout; exits 1 (with the error on stderr) if anything fails.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const LOOKUP = { identifierName: "mobile", identifierValue: "919800000001", source: "INSTORE" };
const ISSUE = { seriesId: 3002, customer: { id: 5100002 } };
const COUPONS = { issuedToIds: [5100002] };
const TIMEOUT_MS = 20_000;

function text(result) {
  return (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

function brief(result) {
  const structured = result.structuredContent ?? {};
  return {
    isError: Boolean(result.isError),
    status: structured.status ?? null,
    http_status: structured.http_status ?? null,
    text: text(result).slice(0, 400),
  };
}

async function main() {
  const [url, tokenArg] = process.argv.slice(2);
  const token = tokenArg ?? process.env.CAP_MCP_CLIENT_TOKEN;
  if (!url || !token) {
    console.error("usage: node ts_client.mjs URL TOKEN   (or CAP_MCP_CLIENT_TOKEN=TOKEN node ts_client.mjs URL)");
    process.exit(2);
  }
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: "cap-mcp-ts-check", version: "1.0.0" }, { capabilities: {} });
  const options = { timeout: TIMEOUT_MS };
  await client.connect(transport, options);
  try {
    const summary = {
      protocolVersion: transport.protocolVersion ?? null,
      sessionId: transport.sessionId ?? null,
      server: client.getServerVersion() ?? null,
    };

    const { tools } = await client.listTools(undefined, options);
    summary.tools = tools.map((t) => t.name).sort();

    const lookup = await client.callTool({ name: "customer_lookup", arguments: LOOKUP }, undefined, options);
    const customer = lookup.structuredContent?.data ?? {};
    const profile = (customer.profiles ?? [])[0] ?? {};
    summary.lookup = {
      ...brief(lookup),
      id: customer.id ?? null,
      name: [profile.firstName, profile.lastName].filter(Boolean).join(" "),
    };

    // How many coupons of series 3002 Ben holds: read before and after each step of the confirmation round.
    const issued = async () => {
      const result = await client.callTool({ name: "coupon_get", arguments: COUPONS }, undefined, options);
      const coupons = result.structuredContent?.data?.data ?? [];
      return coupons.filter((c) => c.seriesId === ISSUE.seriesId).length;
    };
    summary.coupons = { before: await issued() };

    const first = await client.callTool({ name: "coupon_issue", arguments: ISSUE }, undefined, options);
    const confirmationToken = first.structuredContent?.confirmation_token ?? null;
    summary.issue_first = { ...brief(first), has_confirmation_token: Boolean(confirmationToken) };
    summary.coupons.after_first_call = await issued();
    if (confirmationToken) {
      const second = await client.callTool(
        { name: "coupon_issue", arguments: { ...ISSUE, confirmation_token: confirmationToken } },
        undefined,
        options,
      );
      summary.issue_confirmed = { ...brief(second), data: second.structuredContent?.data ?? null };
      summary.coupons.after_confirmed_call = await issued();
      // The same token a second time: it is single use.
      const again = await client.callTool(
        { name: "coupon_issue", arguments: { ...ISSUE, confirmation_token: confirmationToken } },
        undefined,
        options,
      );
      summary.issue_replayed = brief(again);
      summary.coupons.after_replayed_token = await issued();
    }
    process.stdout.write(JSON.stringify(summary) + "\n");
  } finally {
    // Ends the session (HTTP DELETE) where the server keeps one, then closes the transport.
    await transport.terminateSession().catch(() => {});
    await client.close();
  }
}

main().catch((error) => {
  console.error(`ts_client: ${error?.stack ?? error}`);
  process.exit(1);
});
