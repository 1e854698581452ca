// Opt-in (--fallback, RINGSIDE_FALLBACK=1) degraded mode: when io_uring is
// blocked (seccomp, kernel.io_uring_disabled, SQPOLL refused), serve the same
// canned responses, routes and delays through Bun.serve instead of failing
// (delays on a JS timer). start.ts starts it; the startup line and /metrics
// say it is degraded.
import type { Server } from "bun";
import type { Config } from "../config/config.ts";
import type { ResponseSpec } from "../config/response.ts";
import { addrInUse, RingsideError } from "../lib/errors.ts";
import type { Backend } from "./backend.ts";
import { matchRoute, rawPath } from "./match.ts";
import { abiDescription, enumNames, type Counters } from "./native.ts";
import { buildResponses } from "./responses.ts";

/** What Bun.serve answers for one route (or the default response). */
interface Answer {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
  wireBytes: number;
  delayMs: number;
}

function answerOf(keepAlive: boolean, response: ResponseSpec, delayMs: number): Answer {
  const { status, contentType, headers, body } = response;
  return {
    status,
    body,
    delayMs,
    wireBytes: buildResponses(response)[keepAlive ? "keep11" : "close11"].length,
    headers: [
      ["Content-type", contentType],
      ...headers.map((h): [string, string] => [h.slice(0, h.indexOf(":")), h.slice(h.indexOf(":") + 1).trim()]),
      // Without --keep-alive the ring closes after every response: so does this.
      ...(keepAlive ? [] : [["Connection", "close"] as [string, string]]),
    ],
  };
}

export class FallbackServer implements Backend {
  readonly features: string[] = [];
  readonly rings = 1;
  private phase = "running";
  private readonly tally: Counters;
  private readonly states: string[];
  private readonly byRoute: number[];

  private constructor(
    private readonly server: Server<undefined>,
    /** The error code that sent us here, e.g. io_uring_blocked. */
    readonly degraded: string,
    routes: number,
  ) {
    const d = abiDescription();
    this.tally = Object.fromEntries(d.counters.fields.map((f) => [f.name, 0]));
    this.states = enumNames(d, "state");
    this.byRoute = new Array<number>(routes + 1).fill(0);
  }

  get port(): number {
    return this.server.port ?? 0;
  }

  static start(cfg: Config, reason: string): FallbackServer {
    const v = cfg.values;
    const answers = [answerOf(v["keep-alive"], cfg.response, v.delay), ...cfg.routes.map((r) => answerOf(v["keep-alive"], r.response, r.delayMs))];
    let self: FallbackServer | undefined;
    let server: Server<undefined>;
    try {
      server = Bun.serve({
        hostname: v.host,
        port: v.port,
        maxRequestBodySize: v["max-body-size"],
        idleTimeout: Math.min(255, Math.ceil(v["idle-timeout"] / 1000)),
        fetch: async (req) => {
          const route = matchRoute(cfg.routes, rawPath(req.url)) + 1;
          const a = answers[route]!;
          const t = self!.tally;
          self!.byRoute[route]!++;
          t.requests = (t.requests ?? 0) + 1;
          if (a.delayMs) {
            t.delayed = (t.delayed ?? 0) + 1;
            await Bun.sleep(a.delayMs);
          }
          t.responses = (t.responses ?? 0) + 1;
          t.bytes_sent = (t.bytes_sent ?? 0) + a.wireBytes;
          // No body for HEAD, nor for 204/205/304 (Bun frames those itself: 205 with Content-Length: 0).
          return new Response(req.method === "HEAD" || !a.body.length ? null : a.body, { status: a.status, headers: a.headers });
        },
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE") throw addrInUse("port", v.port, v.host, "--port");
      throw new RingsideError("start", `fallback server cannot start: ${err instanceof Error ? err.message : String(err)}`, code);
    }
    self = new FallbackServer(server, reason, cfg.routes.length);
    return self;
  }

  counters(): Counters {
    return { ...this.tally, state: this.states.indexOf(this.phase), active: this.server.pendingRequests };
  }

  ringCounters(): Counters[] {
    return [this.counters()];
  }

  routeRequests(): number[] {
    return [...this.byRoute];
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
