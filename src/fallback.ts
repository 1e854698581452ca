// Opt-in (--fallback, RINGSIDE_FALLBACK=1) degraded mode: when io_uring is
// blocked (seccomp, kernel.io_uring_disabled, SQPOLL refused), serve the same
// canned response through Bun.serve instead of failing. backend.ts starts it;
// the startup line and /metrics say it is degraded.
import type { Server } from "bun";
import type { Backend } from "./backend.ts";
import type { Config } from "./config.ts";
import { addrInUse, RingsideError } from "./errors.ts";
import { abiDescription, enumNames, type Counters } from "./native.ts";
import { buildResponses } from "./response.ts";

export class FallbackServer implements Backend {
  readonly features: string[] = [];
  readonly rings = 1;
  private phase = "running";
  private readonly tally: Counters;
  private readonly states: string[];

  private constructor(
    private readonly server: Server<undefined>,
    /** The error code that sent us here, e.g. io_uring_blocked. */
    readonly degraded: string,
  ) {
    const d = abiDescription();
    this.tally = Object.fromEntries(d.counters.fields.map((f) => [f.name, 0]));
    this.states = enumNames(d, "state");
  }

  get port(): number {
    return this.server.port ?? 0;
  }

  static start(cfg: Config, reason: string): FallbackServer {
    const { status, contentType, headers, body } = cfg.response;
    const wireBytes = buildResponses(cfg.response)[cfg.keepAlive ? "keep11" : "close11"].length;
    const headerList: Array<[string, string]> = [
      ["Content-type", contentType],
      ...headers.map((h): [string, string] => [h.slice(0, h.indexOf(":")), h.slice(h.indexOf(":") + 1).trim()]),
      // Without --keep-alive the ring closes after every response: so does this.
      ...(cfg.keepAlive ? [] : [["Connection", "close"] as [string, string]]),
    ];
    let self: FallbackServer | undefined;
    let server: Server<undefined>;
    try {
      server = Bun.serve({
        hostname: cfg.host,
        port: cfg.port,
        maxRequestBodySize: cfg.maxBodyBytes,
        idleTimeout: Math.min(255, Math.ceil(cfg.idleTimeoutMs / 1000)),
        fetch: (req) => {
          const t = self!.tally;
          t.requests = (t.requests ?? 0) + 1;
          t.responses = (t.responses ?? 0) + 1;
          t.bytes_sent = (t.bytes_sent ?? 0) + wireBytes;
          // No body at all for HEAD, and for 204/304 (a Response may not carry one).
          return new Response(req.method === "HEAD" || !body.length ? null : body, { status, headers: headerList });
        },
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE") throw addrInUse("port", cfg.port, cfg.host, "--port");
      throw new RingsideError("start", `fallback server cannot start: ${err instanceof Error ? err.message : String(err)}`, code);
    }
    self = new FallbackServer(server, reason);
    return self;
  }

  counters(): Counters {
    return { ...this.tally, state: this.states.indexOf(this.phase), active: this.server.pendingRequests };
  }

  ringCounters(): Counters[] {
    return [this.counters()];
  }

  state(): string {
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
