// Bun.serve peer for the benchmark (started by servers.ts): the minimal server a
// user would write for a fixed response, so that its start time and memory are
// Bun.serve's own. No imports, no signal handlers (SIGTERM ends it; servers.ts
// counts that as a clean stop); the one line it prints tells the harness its port.
// usage: bun bench/lib/peer-bun.ts [--port N] [--reuse-port] [--body-file PATH]
//   --port        default 0: any free port, printed
//   --reuse-port  SO_REUSEPORT, so that more processes can serve the same port
//                 (the bench starts the first on port 0, the others on the port it printed)
//   --body-file   serve this file's bytes instead (read once, at start)
const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
};
const file = arg("--body-file");
const body = file === undefined ? "Have a nice day!\n" : await Bun.file(file).bytes();
const headers = { "Content-Type": "text/html" };
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(arg("--port") ?? 0),
  reusePort: argv.includes("--reuse-port"),
  routes: { "/": new Response(body, { headers }) },
  fetch: () => new Response(body, { headers }),
});
console.log(`peer-bun: listening on ${server.url}`);
export {}; // a module to the type checker (top-level await); nothing is exported
