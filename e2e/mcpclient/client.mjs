// Connects to a GPUBROKER POD MCP endpoint over streamable HTTP with the
// official TypeScript SDK, lists tools, calls a read-only tool and a tool
// the token may not use, and prints what happened as one JSON line.
//
// usage: node client.mjs URL TOKEN
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error("usage: node client.mjs URL TOKEN");
  process.exit(2);
}
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "gpubroker-e2e", version: "1.0.0" });
await client.connect(transport);
const listed = await client.listTools();
const read = await client.callTool({ name: "get_tenant", arguments: {} });
const denied = await client.callTool({ name: "create_tenant", arguments: { id: "intruder", name: "Intruder" } });
console.log(JSON.stringify({
  server: client.getServerVersion(),
  tools: listed.tools.map((t) => ({ name: t.name, readOnly: t.annotations?.readOnlyHint, hasOutputSchema: !!t.outputSchema })),
  read: { isError: !!read.isError, structured: read.structuredContent },
  denied: { isError: !!denied.isError, text: denied.content?.[0]?.text, structured: denied.structuredContent },
}));
await client.close();
