// How a host starts an installed bundle: the mcpb library's own substitution of ${__dirname} and
// ${user_config.*} in the manifest's mcp_config. Prints {command, args, env} as JSON.
//   node tests/clients/mcpb_config.mjs <unpacked bundle directory> '<user config as JSON>'
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { getMcpConfigForManifest } from "@anthropic-ai/mcpb";

const [directory, userConfig] = process.argv.slice(2);
const extensionPath = resolve(directory);
const manifest = JSON.parse(readFileSync(join(extensionPath, "manifest.json"), "utf8"));
const home = process.env.HOME ?? "/tmp";
const config = await getMcpConfigForManifest({
  manifest,
  extensionPath,
  systemDirs: { HOME: home, DESKTOP: join(home, "Desktop"), DOCUMENTS: join(home, "Documents"), DOWNLOADS: join(home, "Downloads") },
  userConfig: JSON.parse(userConfig ?? "{}"),
  pathSeparator: "/",
});
if (config === undefined) {
  console.error("no mcp_config: required user configuration is missing");
  process.exit(1);
}
console.log(JSON.stringify(config));
