// Every flag in one table: reading argv and env (read.ts), --help
// (commands/help.ts), the README's table (scripts/readme-flags.ts) and the
// native config (the `native` column names the struct rs_config field of
// native/ringside.h an option fills; serve/native-config.ts) are made from
// it. The table is `as const`, so that each flag's parsed value has a type of
// its own (FlagValues).
import { MAX_DELAY_MS, MAX_SIZE, type FaultWeights, type SizeRange, type WeightedList } from "./outcomes.ts";

/** The default response's body, from the original no-syscall server. */
export const DEFAULT_BODY = "Have a nice day!\n";

export type OptionKind = "int" | "count" | "duration" | "string" | "host" | "bool" | "list" | "choice" | "cpus" | "statuses" | "delays" | "faults" | "size";

export interface OptionSpec {
  readonly flag: string;
  readonly kind: OptionKind;
  readonly env?: string;
  /** Default as the user would type it. */
  readonly def?: string;
  /** The default as --help and the README show it, when typing it differs (an escaped newline). */
  readonly shown?: string;
  /** For durations: what a bare number means. */
  readonly unit?: "ms" | "s";
  readonly choices?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly arg?: string;
  readonly help: string;
  /** The struct rs_config field this option fills. */
  readonly native?: string;
  /** Its native value when the option is not given and has no default: a library constant. */
  readonly nativeUnset?: string;
  /** Whole numbers: 0 or a power of two only. */
  readonly pow2?: boolean;
  /** Durations: the word that means "never", and the library constant it encodes as. */
  readonly forever?: { readonly word: string; readonly constant: string };
}

const TABLE = [
  { flag: "port", kind: "int", env: "PORT", def: "8000", min: 0, max: 65535, native: "port", help: "TCP port (0: any free port, printed at start)" },
  { flag: "host", kind: "host", env: "HOST", native: "host", def: "0.0.0.0", arg: "ADDR", help: "numeric IPv4/IPv6 address or localhost; use 127.0.0.1 outside containers" },
  { flag: "mode", kind: "choice", env: "RINGSIDE_MODE", def: "auto", choices: ["auto", "spin", "sqpoll", "batch"], help: "spin: SQPOLL + busy loop, 2 CPUs a ring; sqpoll: SQPOLL + blocking waits; batch: no SQPOLL, one syscall per batch; auto: spin where the CPU budget gives every ring 2 CPUs and leaves 1, else batch" },
  { flag: "rings", kind: "count", env: "RINGSIDE_RINGS", def: "auto", min: 1, max: 256, arg: "N|auto", help: "ring threads, each with its own io_uring and listening socket (SO_REUSEPORT); auto: one per CPU of the budget in batch mode, one per 2 CPUs (1 left over) in spin mode" },
  { flag: "keep-alive", kind: "bool", env: "RINGSIDE_KEEP_ALIVE", native: "keep_alive", help: "persistent HTTP/1.1 connections and pipelining (default: HTTP/1.0, close after each response)" },
  { flag: "body", kind: "string", env: "RINGSIDE_BODY", def: DEFAULT_BODY, shown: JSON.stringify(DEFAULT_BODY).slice(1, -1), arg: "TEXT", help: "response body (the default response: every path no --route matches)" },
  { flag: "body-file", kind: "string", env: "RINGSIDE_BODY_FILE", arg: "PATH", help: "response body read from a regular file, 64 MiB at most (instead of --body)" },
  { flag: "status", kind: "statuses", env: "RINGSIDE_STATUS", def: "200", arg: "CODE|LIST", help: "default response's status code (the reason phrase is the standard one), or weighted: 200,503@10%,429@5% draws 503 for 10% of requests, 429 for 5%, else 200 (the code without @, else 200)" },
  { flag: "content-type", kind: "string", env: "RINGSIDE_CONTENT_TYPE", def: "text/html", arg: "TYPE", help: "Content-type of the default response" },
  { flag: "preset", kind: "choice", env: "RINGSIDE_PRESET", def: "none", choices: ["none", "default-backend"], help: "default-backend: the ingress default-backend contract, 404 'default backend - 404' on every path and 200 'ok' on /healthz (flags given still win)" },
  { flag: "route", kind: "list", env: "RINGSIDE_ROUTES", max: 1024, arg: "'PATH[=STATUS] [KEY=VALUE]...'", help: "a response of its own for requests whose path (query ignored, as sent) is PATH, or starts with it when PATH ends in *; keys: body, body-file, type, header (repeatable), status, delay, fault, size, as the flags of those names take them; repeatable (env: newline-separated), 1024 routes at most with --routes. Leaves out: status 200, body the reason phrase, type text/plain, --delay" },
  { flag: "routes", kind: "string", env: "RINGSIDE_ROUTES_FILE", arg: "FILE", help: "routes from a JSON file: an array of {\"path\", \"status\", \"body\", \"body-file\", \"type\", \"header\", \"delay\", \"fault\", \"size\"}, before the --route ones" },
  { flag: "delay", kind: "delays", env: "RINGSIDE_DELAY", def: "0", unit: "ms", arg: "DURATION|LIST", help: "hold every response to a complete request back this long (error responses go at once; a route's delay= overrides it), or weighted: 0,100ms@5%,1s@1% holds 5% of responses 100 ms, 1% 1 s, the rest 0 (the item without @); 1 h at most; timed by io_uring: no thread sleeps, no system call per request" },
  { flag: "fault", kind: "faults", env: "RINGSIDE_FAULT", arg: "LIST", help: "weighted faults instead of the default response: reset@1%,close@1%,hang@1% answers 1% of requests with an RST, 1% with a close (no response), 1% never (cut at --header-timeout)" },
  { flag: "size", kind: "size", env: "RINGSIDE_SIZE", arg: "N|N-M", help: "the default response's body generated, N bytes or drawn per request from N to M (64 MiB at most), instead of --body" },
  { flag: "seed", kind: "int", env: "RINGSIDE_SEED", min: 1, max: Number.MAX_SAFE_INTEGER, arg: "N", help: "seed of the draws (weights, sizes): with one ring and the same requests in the same order, the same seed draws the same outcomes (default: random, printed in the startup line)" },
  { flag: "control", kind: "choice", env: "RINGSIDE_CONTROL", native: "control", def: "off", choices: ["off", "query", "header", "both"], help: "let each request choose its outcome, by query (?status=503:10,429:5 ?delay=250ms ?size=1024 ?fault=reset:1) or header (X-Ringside-Status ...), bounded by --max-delay and --max-size; a value that cannot be read gets a 400. off: no client can steer a response" },
  { flag: "max-delay", kind: "duration", env: "RINGSIDE_MAX_DELAY", native: "max_delay_ms", def: "10s", unit: "ms", min: 0, max: MAX_DELAY_MS, help: "--control: the longest delay a request may ask for (over it: 400)" },
  { flag: "max-size", kind: "int", env: "RINGSIDE_MAX_SIZE", native: "max_size", def: "1048576", min: 0, max: MAX_SIZE, help: "--control: the largest body a request may ask for, in bytes (over it: 400)" },
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
] as const satisfies readonly OptionSpec[];

/** A row of the table with its literal types, which FlagValues is made from. */
type Option = (typeof TABLE)[number];
export type FlagName = Option["flag"];

/** A row of this table. */
export type FlagSpec = OptionSpec & { readonly flag: FlagName };

/** The table, row by row. */
export const OPTIONS: readonly FlagSpec[] = TABLE;

/** One line of a repeatable option, with where it came from for messages:
 * "--route", or "RINGSIDE_ROUTES line 2". */
export interface ListItem {
  readonly text: string;
  readonly source: string;
}

/** The type a kind of option parses into. */
type Parsed<O extends Option> = O["kind"] extends "int"
  ? number
  : O["kind"] extends "count"
    ? number | "auto"
    : O["kind"] extends "duration"
      ? O extends { forever: { word: infer W } } ? number | W : number
      : O["kind"] extends "bool"
        ? boolean
        : O["kind"] extends "list"
          ? readonly ListItem[]
          : O["kind"] extends "cpus"
            ? readonly number[]
            : O["kind"] extends "choice"
              ? O extends { choices: readonly (infer C)[] } ? C : never
              : O["kind"] extends "statuses" | "delays"
                ? WeightedList
                : O["kind"] extends "faults"
                  ? FaultWeights
                  : O["kind"] extends "size"
                    ? SizeRange
                    : string;

/** Every option's value, parsed and range-checked; undefined only where an
 * option has neither a value given nor a default. */
export type FlagValues = {
  readonly [O in Option as O["flag"]]: O extends { def: string } | { kind: "bool" | "list" } ? Parsed<O> : Parsed<O> | undefined;
};

/** The modes a ring runs in: --mode's choices but auto. */
export type ModeName = Exclude<FlagValues["mode"], "auto">;

export const spec = (flag: FlagName): FlagSpec => OPTIONS.find((o) => o.flag === flag)!;
