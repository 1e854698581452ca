// Opt-in (--fallback, RINGSIDE_FALLBACK=1) degraded mode: when io_uring is
// blocked (seccomp, kernel.io_uring_disabled, SQPOLL refused), serve the same
// canned response through Bun.serve instead of failing. One warning at
// start; the startup line and /metrics say it is degraded.
import type { Server } from "bun";
import type { Config } from "./config.ts";
import type { Log } from "./log.ts";
import { COUNTER_NAMES, NativeServer, RingsideError, STATES, type Counters, type Feature } from "./native.ts";

/** What server.ts and admin.ts need from either server. */
export interface Backend {
  readonly port: number;
  readonly features: Feature[];
  counters(): Counters;
  state(): (typeof STATES)[number];
  stop(drainMs: number): void;
  destroy(): void;
}

/** Start failures the fallback may stand in for, with the fix to name. */
const FALLBACK_HINT = "pass --fallback (RINGSIDE_FALLBACK=1) to serve through Bun.serve, degraded";
const HINTS: Record<string, string> = {
  io_uring_blocked: `in a container run with deploy/seccomp.json (--security-opt seccomp=deploy/seccomp.json; Kubernetes: a Localhost seccompProfile), or ${FALLBACK_HINT}`,
  ring_flag_rejected: `or ${FALLBACK_HINT}`,
};

interface Canned {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
  wireBytes: number;
}

/** The prebuilt HTTP/1.1 response split back into status, headers and body. */
function parseCanned(bytes: Uint8Array): Canned {
  const text = new TextDecoder("latin1").decode(bytes);
  const end = text.indexOf("\r\n\r\n");
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const headers = lines
    .map((l): [string, string] => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()])
    .filter(([name]) => name.toLowerCase() !== "content-length");
  return { status: Number(statusLine.split(" ")[1]), headers, body: bytes.slice(end + 4), wireBytes: bytes.length };
}

export class FallbackServer implements Backend {
  readonly features: Feature[] = [];
  private phase: (typeof STATES)[number] = "running";
  private readonly tally = Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as Counters;

  private constructor(
    private readonly server: Server<undefined>,
    /** The error code that sent us here, e.g. io_uring_blocked. */
    readonly reason: string,
  ) {}

  get port(): number {
    return this.server.port ?? 0;
  }

  static start(cfg: Config, reason: string): FallbackServer {
    const canned = parseCanned(cfg.native.keepAlive ? cfg.native.responses.keep11 : cfg.native.responses.close11);
    let self: FallbackServer | undefined;
    const server = Bun.serve({
      hostname: cfg.native.host,
      port: cfg.native.port,
      maxRequestBodySize: cfg.native.maxBodyBytes,
      idleTimeout: Math.min(255, Math.ceil(cfg.native.idleTimeoutMs / 1000)),
      fetch: (req) => {
        const t = self!.tally;
        t.requests++;
        t.responses++;
        t.bytes_sent += canned.wireBytes;
        // No body at all for HEAD, and for 204/304 (a Response may not carry one).
        const body = req.method === "HEAD" || !canned.body.length ? null : canned.body;
        return new Response(body, { status: canned.status, headers: canned.headers });
      },
    });
    self = new FallbackServer(server, reason);
    return self;
  }

  counters(): Counters {
    return { ...this.tally, state: STATES.indexOf(this.phase), active: this.server.pendingRequests };
  }

  state(): (typeof STATES)[number] {
    return this.phase;
  }

  /** Stops accepting at once; in-flight requests get drainMs, then are cut. */
  stop(drainMs: number): void {
    if (this.phase !== "running") return;
    this.phase = "draining";
    const cut = setTimeout(() => {
      void this.server.stop(true);
      this.phase = "stopped";
    }, drainMs);
    void this.server.stop(false).then(() => {
      clearTimeout(cut);
      this.phase = "stopped";
    });
  }

  destroy(): void {
    void this.server.stop(true);
    this.phase = "stopped";
  }
}

/** The label value /metrics and the startup line use: "" when not degraded. */
export const degradedReason = (b: Backend): string => (b instanceof FallbackServer ? b.reason : "");

/** The native server, or with --fallback the Bun.serve stand-in when io_uring is unusable. */
export function startBackend(cfg: Config, log: Log): Backend {
  try {
    return NativeServer.start(cfg.native);
  } catch (e) {
    if (!(e instanceof RingsideError) || !HINTS[e.code]) throw e;
    if (!cfg.fallback) throw new RingsideError(e.code, `${e.message}; ${HINTS[e.code]}`, e.errno);
    log.warn("fallback", `${e.message}; serving through Bun.serve instead (--fallback): degraded, one system call or more per request`, {
      degraded: e.code,
    });
    try {
      return FallbackServer.start(cfg, e.code);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE") {
        throw new RingsideError("addr_in_use", `port ${cfg.native.port} is in use on ${cfg.native.host}: stop the other server or pass --port (0 picks a free one)`, code);
      }
      throw new RingsideError("start", `fallback server cannot start: ${err instanceof Error ? err.message : String(err)}`, code);
    }
  }
}
