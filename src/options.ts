// Every `serve` flag in one table: parseArgs options, env fallbacks, --help,
// the README table and the native config (the `native` column names the
// struct rs_config field of native/ringside.h an option fills) are all made
// from it.
import { DEFAULT_BODY } from "./response.ts";

export type OptionKind = "int" | "duration" | "string" | "host" | "bool" | "list" | "choice" | "cpus";

export interface OptionSpec {
  flag: string;
  kind: OptionKind;
  env?: string;
  /** Default as the user would type it (shown in --help). */
  def?: string;
  /** For durations: what a bare number means. */
  unit?: "ms" | "s";
  choices?: readonly string[];
  min?: number;
  max?: number;
  arg?: string;
  help: string;
  /** The struct rs_config field this option fills. */
  native?: string;
  /** Its native value when the option is not given and has no default: a library constant. */
  nativeUnset?: string;
  /** Whole numbers: 0 or a power of two only. */
  pow2?: boolean;
  /** Durations: the word that means "never", and the library constant it encodes as. */
  forever?: { word: string; constant: string };
}

export const OPTIONS: readonly OptionSpec[] = [
  { flag: "port", kind: "int", env: "PORT", def: "8000", min: 0, max: 65535, native: "port", help: "TCP port (0: any free port, printed at start)" },
  { flag: "host", kind: "host", env: "HOST", native: "host", def: "0.0.0.0", arg: "ADDR", help: "numeric IPv4/IPv6 address or localhost; use 127.0.0.1 outside containers" },
  { flag: "mode", kind: "choice", env: "RINGSIDE_MODE", def: "auto", choices: ["auto", "spin", "sqpoll", "batch"], help: "spin: SQPOLL + busy loop, 2 CPUs a ring; sqpoll: SQPOLL + blocking waits; batch: no SQPOLL, one syscall per batch; auto: spin where the CPU budget gives every ring 2 CPUs and leaves 1, else batch" },
  { flag: "rings", kind: "string", env: "RINGSIDE_RINGS", def: "auto", arg: "N|auto", help: "ring threads, each with its own io_uring and listening socket (SO_REUSEPORT); auto: one per CPU of the budget in batch mode, one per 2 CPUs (1 left over) in spin mode" },
  { flag: "keep-alive", kind: "bool", env: "RINGSIDE_KEEP_ALIVE", native: "keep_alive", help: "persistent HTTP/1.1 connections and pipelining (default: HTTP/1.0, close after each response)" },
  { flag: "body", kind: "string", env: "RINGSIDE_BODY", def: JSON.stringify(DEFAULT_BODY).slice(1, -1), arg: "TEXT", help: "response body (the default response: every path no --route matches)" },
  { flag: "body-file", kind: "string", env: "RINGSIDE_BODY_FILE", arg: "PATH", help: "response body read from a file (instead of --body)" },
  { flag: "status", kind: "int", env: "RINGSIDE_STATUS", def: "200", min: 200, max: 599, help: "default response's status code; the reason phrase is the standard one" },
  { flag: "content-type", kind: "string", env: "RINGSIDE_CONTENT_TYPE", def: "text/html", arg: "TYPE", help: "Content-type of the default response" },
  { flag: "preset", kind: "choice", env: "RINGSIDE_PRESET", def: "none", choices: ["none", "default-backend"], help: "default-backend: the ingress default-backend contract, 404 'default backend - 404' on every path and 200 'ok' on /healthz (flags given still win)" },
  { flag: "route", kind: "list", env: "RINGSIDE_ROUTES", max: 1024, arg: "'PATH[=STATUS] [body=TEXT] [body-file=FILE] [type=TYPE] [header=\"N: V\"] [delay=D]'", help: "a response of its own for requests whose path (query ignored, as sent) is PATH, or starts with it when PATH ends in *; repeatable (env: newline-separated), 1024 routes at most with --routes. Leaves out: status 200, body the reason phrase, type text/plain, --delay" },
  { flag: "routes", kind: "string", env: "RINGSIDE_ROUTES_FILE", arg: "FILE", help: "routes from a JSON file: an array of {\"path\", \"status\", \"body\", \"body-file\", \"type\", \"header\", \"delay\"}, before the --route ones" },
  { flag: "delay", kind: "duration", env: "RINGSIDE_DELAY", native: "delay_ms", def: "0", unit: "ms", min: 0, max: 3_600_000, help: "hold every response back this long (a route's delay= overrides it), timed by io_uring: no thread sleeps, no system call per request" },
  { flag: "header", kind: "list", env: "RINGSIDE_HEADERS", arg: "'NAME: VALUE'", help: "extra response header on every response (routes' too), repeatable (env: newline-separated)" },
  { flag: "entries", kind: "int", env: "RINGSIDE_ENTRIES", native: "entries", def: "1024", min: 8, max: 32768, help: "submission queue entries" },
  { flag: "sq-cpu", kind: "cpus", env: "RINGSIDE_SQ_CPU", native: "sq_cpus", nativeUnset: "RS_NO_CPU", min: 0, max: 4095, arg: "LIST", help: "pin ring K's SQPOLL kernel thread to the K-th CPU of LIST (1,2,3 or 1-3; default: unpinned)" },
  { flag: "cpu", kind: "cpus", env: "RINGSIDE_CPU", native: "ring_cpus", nativeUnset: "RS_NO_CPU", min: 0, max: 4095, arg: "LIST", help: "pin ring K's thread to the K-th CPU of LIST (1,2,3 or 1-3; default: unpinned); pinned rings get the connections their CPU receives" },
  { flag: "sq-idle", kind: "duration", env: "RINGSIDE_SQ_IDLE", native: "sq_idle_ms", def: "100ms", unit: "ms", min: 1, max: 60_000, help: "idle time before the SQPOLL kernel thread sleeps (as long as the spin budget by default, so both stop burning CPU together)" },
  { flag: "spin-budget", kind: "duration", env: "RINGSIDE_SPIN_BUDGET", native: "spin_budget_ms", forever: { word: "forever", constant: "RS_SPIN_FOREVER" }, def: "100ms", unit: "ms", min: 0, max: 3_600_000, help: "spin mode: idle time before the ring thread parks in a blocking wait; 'forever' never parks" },
  { flag: "recv-buffers", kind: "int", env: "RINGSIDE_RECV_BUFFERS", native: "recv_buffers", def: "0", min: 0, max: 32768, pow2: true, arg: "N", help: "provided receive buffers (2 KiB each) per ring, a power of two; 0: a quarter of the ring's connections, 64 to 1024. When all are in use, receives wait for one (counted in buffer_shortages)" },
  { flag: "max-connections", kind: "int", env: "RINGSIDE_MAX_CONNECTIONS", native: "max_connections", def: "4096", min: 1, max: 65536, help: "open connections at most, split between the rings; the rest wait in the listen backlog" },
  { flag: "backlog", kind: "int", env: "RINGSIDE_BACKLOG", native: "backlog", def: "4096", min: 1, max: 65535, help: "listen backlog (capped by net.core.somaxconn)" },
  { flag: "max-header-size", kind: "int", env: "RINGSIDE_MAX_HEADER_SIZE", native: "max_header_bytes", def: "8192", min: 256, max: 1 << 20, help: "request header block limit in bytes (over it: 431)" },
  { flag: "max-body-size", kind: "int", env: "RINGSIDE_MAX_BODY_SIZE", native: "max_body_bytes", def: "1048576", min: 0, max: 0xffffffff, help: "request body limit in bytes (over it: 413); bodies are read and discarded" },
  { flag: "max-requests", kind: "int", env: "RINGSIDE_MAX_REQUESTS", native: "max_requests", def: "0", min: 0, max: 0xffffffff, help: "keep-alive: requests per connection before it closes (0: unlimited)" },
  { flag: "idle-timeout", kind: "duration", env: "RINGSIDE_IDLE_TIMEOUT", native: "idle_timeout_ms", def: "5s", unit: "s", min: 1, max: 3_600_000, help: "keep-alive: close a connection idle between requests this long" },
  { flag: "header-timeout", kind: "duration", env: "RINGSIDE_HEADER_TIMEOUT", native: "header_timeout_ms", def: "10s", unit: "s", min: 1, max: 3_600_000, help: "close a client that has not sent a whole request (and body) in this time" },
  { flag: "send-timeout", kind: "duration", env: "RINGSIDE_SEND_TIMEOUT", native: "send_timeout_ms", def: "10s", unit: "s", min: 1, max: 3_600_000, help: "close a client that has not taken a whole response (or pipelined batch) in this time: one that does not read, or reads too slowly" },
  { flag: "linger-timeout", kind: "duration", env: "RINGSIDE_LINGER_TIMEOUT", native: "linger_timeout_ms", def: "5s", unit: "s", min: 1, max: 3_600_000, help: "after a last response with input left unread (an error, a chunked body), read and discard until the client's EOF at most this long" },
  { flag: "drain-timeout", kind: "duration", env: "RINGSIDE_DRAIN_TIMEOUT", def: "5s", unit: "s", min: 0, max: 3_600_000, help: "on SIGTERM/SIGINT: time in-flight requests get to finish" },
  { flag: "stats-interval", kind: "duration", env: "RINGSIDE_STATS_INTERVAL", def: "0", unit: "s", min: 0, max: 3_600_000, help: "print one line of rates and counters every interval (0: off)" },
  { flag: "log-format", kind: "choice", env: "RINGSIDE_LOG_FORMAT", def: "text", choices: ["text", "json"], help: "log lines as text or JSON objects" },
  { flag: "quiet", kind: "bool", env: "RINGSIDE_QUIET", help: "no startup, stats or summary lines; errors still print" },
  { flag: "fallback", kind: "bool", env: "RINGSIDE_FALLBACK", help: "if io_uring is blocked (seccomp, kernel.io_uring_disabled) or SQPOLL refused, serve the same response through Bun.serve instead of exiting: degraded, marked in the startup line and /metrics" },
  { flag: "admin-port", kind: "int", env: "RINGSIDE_ADMIN_PORT", min: 0, max: 65535, arg: "N", help: "serve /healthz, /readyz and /metrics on this port (default: off; 0: any free port)" },
  { flag: "admin-host", kind: "host", env: "RINGSIDE_ADMIN_HOST", arg: "ADDR", help: "address of the admin listener (default: --host)" },
  { flag: "check", kind: "string", arg: "URL", help: "GET URL (or a path on this server's --host/--port, like /) and exit 0 if the status is below 500, else 1; for HEALTHCHECK" },
  { flag: "doctor", kind: "bool", help: "print io_uring diagnostics, the CPU budget and the mode and rings ringside would pick; exit 1 if the configured mode cannot run" },
  { flag: "help", kind: "bool", help: "show this help" },
  { flag: "version", kind: "bool", help: "print the version" },
];

export function usage(version: string): string {
  const rows = OPTIONS.map((o) => {
    const arg = o.kind === "bool" ? "" : ` ${o.arg ?? (o.kind === "duration" ? "DURATION" : o.kind === "choice" ? o.choices!.join("|") : "N")}`;
    const extra = [
      o.def !== undefined ? `default ${o.def}` : "",
      o.unit ? `bare number: ${o.unit}` : "",
      o.env ? `env ${o.env}` : "",
    ].filter(Boolean).join("; ");
    return `  --${o.flag}${arg}\n      ${o.help}${extra ? ` (${extra})` : ""}`;
  });
  return [
    `ringside ${version}: canned-response HTTP server on an io_uring SQPOLL ring`,
    "",
    "usage: bun run serve [options]",
    "",
    "Durations take ms, s or m (250ms, 5s, 1m).",
    "Flags override environment variables.",
    "",
    ...rows,
  ].join("\n");
}
