// Bun.serve peer for the benchmark (started by servers.ts): the canned 17-byte
// body that ringside serves, or a body file's bytes, from Bun's static-route fast
// path (what a user would write for a fixed response).
// usage: bun bench/lib/peer-bun.ts [--port N] [--reuse-port] [--body-file PATH]
//   --port        default 0: any free port, printed
//   --reuse-port  SO_REUSEPORT, so that more processes can serve the same port
//                 (the bench starts the first on port 0, the others on the port it printed)
//   --body-file   serve this file's bytes instead (read once, at start)
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { port: { type: "string", default: "0" }, "reuse-port": { type: "boolean", default: false }, "body-file": { type: "string" } },
  strict: true,
});
const file = values["body-file"];
const BODY = file === undefined ? "Have a nice day!\n" : await Bun.file(file).bytes();
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`peer-bun: --port ${values.port}: want 0..65535\n`);
  process.exit(2);
}
const headers = { "Content-Type": "text/html" };
const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  reusePort: values["reuse-port"],
  routes: { "/": new Response(BODY, { headers }) },
  fetch: () => new Response(BODY, { headers }),
});
process.stdout.write(`peer-bun: listening on http://127.0.0.1:${server.port}\n`);
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.once(sig, () => {
    server.stop(true);
    process.exit(0);
  });
}
