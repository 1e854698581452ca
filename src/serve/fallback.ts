// Opt-in (--fallback, RINGSIDE_FALLBACK=1) degraded mode: when io_uring is
// blocked (seccomp, kernel.io_uring_disabled, SQPOLL refused), serve the same
// canned responses, routes, delays and draws through Bun.serve instead of
// failing (delays on a JS timer; draws as the ring makes them, draw.ts;
// per-request control, control.ts). start.ts starts it; the startup line and
// /metrics say it is degraded. What Bun.serve cannot do the same way (a close
// without a response at once, a hang cut at exactly --header-timeout) is in
// docs/http.md.
import type { Server } from "bun";
import type { Config } from "../config/config.ts";
import { drawFrom, FAULTS, type DrawFrom, type Outcome } from "../config/outcomes.ts";
import { REASONS } from "../config/reasons.ts";
import { sendsLength, type ResponseSpec } from "../config/response.ts";
import { addrInUse, RingsideError } from "../lib/errors.ts";
import type { Backend } from "./backend.ts";
import { CONTROL_ERRORS, readControls, type ControlLimits } from "./control.ts";
import { draw, Rng, type Drawn } from "./draw.ts";
import { matchRoute, rawPath } from "./match.ts";
import { abiDescription, enumNames, type Counters } from "./native.ts";
import { buildResponses, buildTails, generatedBytes, STATUS_CODES } from "./responses.ts";

/** What Bun.serve answers for one route (or the default response). */
interface Answer {
  response: ResponseSpec;
  outcome: Outcome;
  from: DrawFrom;
  headers: Array<[string, string]>;
  /** The prebuilt reply's length and the header tail's, for bytes_sent. */
  wireBytes: number;
  tailBytes: number;
}

function answerOf(keepAlive: boolean, response: ResponseSpec, outcome: Outcome): Answer {
  const { contentType, headers } = response;
  const kind = keepAlive ? "keep11" : "close11";
  return {
    response,
    outcome,
    from: drawFrom(outcome),
    wireBytes: buildResponses(response)[kind].length,
    tailBytes: buildTails(response)[kind].length,
    headers: [
      ["Content-type", contentType],
      ...headers.map((h): [string, string] => [h.slice(0, h.indexOf(":")), h.slice(h.indexOf(":") + 1).trim()]),
      // Without --keep-alive the ring closes after every response: so does this.
      ...(keepAlive ? [] : [["Connection", "close"] as [string, string]]),
    ],
  };
}

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
/** A drawn status's body where its response has none of its own: "Reason\n". */
const REASON_BODIES = new Map(STATUS_CODES.map((code) => [code, encode(`${REASONS[code]}\n`)]));

/** Bytes of a reply the ring puts together when it sends it (bytes_sent). */
const putTogetherBytes = (a: Answer, status: number, body: number): number =>
  `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-length: ${body}\r\n\r\n`.length + a.tailBytes + body;

/** Bun never answers a request whose promise never settles; the request
 * ends when its connection does (Bun's per-request timeout, or the client). */
function never(req: Request, onEnd: () => void): Promise<Response> {
  return new Promise((resolve) =>
    req.signal.addEventListener("abort", () => {
      onEnd();
      resolve(new Response(null));
    }),
  );
}

export class FallbackServer implements Backend {
  readonly features: string[] = [];
  readonly rings = 1;
  private phase = "running";
  private readonly tally: Counters;
  private readonly states: string[];
  private readonly byRoute: number[];
  private readonly byOutcome: number[][];

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
    this.byOutcome = Array.from({ length: routes + 1 }, () => new Array<number>(STATUS_CODES.length + FAULTS.length).fill(0));
  }

  get port(): number {
    return this.server.port ?? 0;
  }

  static start(cfg: Config, reason: string): FallbackServer {
    const v = cfg.values;
    const answers = [answerOf(v["keep-alive"], cfg.response, cfg.outcome), ...cfg.routes.map((r) => answerOf(v["keep-alive"], r.response, r.outcome))];
    const limits: ControlLimits = { mode: v.control, maxDelayMs: v["max-delay"], maxSize: v["max-size"] };
    const generated = generatedBytes(Math.max(v.control === "off" ? 0 : v["max-size"], ...answers.map((a) => a.outcome.size?.max ?? 0)));
    const rng = new Rng(cfg.seed);
    const hangSeconds = Math.min(255, Math.ceil(v["header-timeout"] / 1000));
    let self: FallbackServer | undefined;
    let server: Server<undefined>;
    try {
      server = Bun.serve({
        hostname: v.host,
        port: v.port,
        maxRequestBodySize: v["max-body-size"],
        idleTimeout: Math.min(255, Math.ceil(v["idle-timeout"] / 1000)),
        fetch: (req, srv) => {
          const route = matchRoute(cfg.routes, rawPath(req.url)) + 1;
          const a = answers[route]!;
          const from = limits.mode === "off" ? a.from : readControls(req, a.from, limits);
          if ("error" in from) return self!.controlError(from.error);
          const own: Drawn = { status: a.response.status, delayMs: a.outcome.delayMs };
          // Nothing to draw from leaves own as it is (draw skips every empty list).
          const d = draw(from, own, rng);
          self!.count(route, d);
          if (d.fault === "reset") return self!.reset();
          if (!d.fault) return self!.answer(req, a, d, generated);
          // A close or a hang: no response; Bun ends the connection at its next timeout tick.
          const hang = d.fault === "hang";
          srv.timeout(req, hang ? hangSeconds : 1);
          return never(req, () => {
            if (hang) self!.tally.header_timeouts!++;
          });
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

  /** A request framed: by route and by what it came to, as the ring counts it. */
  private count(route: number, d: Drawn): void {
    const t = this.tally;
    t.requests!++;
    this.byRoute[route]!++;
    const outcome = d.fault ? STATUS_CODES.length + FAULTS.indexOf(d.fault) : STATUS_CODES.indexOf(d.status);
    this.byOutcome[route]![outcome]!++;
    if (d.fault) t[`faults_${d.fault}`]!++;
  }

  /** An RST: Bun aborts a connection whose response body fails before its
   * first byte, and an error of undefined is not logged. */
  private reset(): Response {
    return new Response(new ReadableStream({ start: (c) => c.error(undefined) }));
  }

  private controlError(key: keyof typeof CONTROL_ERRORS): Response {
    const t = this.tally;
    t.bad_requests!++;
    t.control_errors!++;
    t.responses!++;
    return new Response(CONTROL_ERRORS[key], { status: 400, headers: { "Content-Type": "text/plain", Connection: "close" } });
  }

  private async answer(req: Request, a: Answer, d: Drawn, generated: Uint8Array): Promise<Response> {
    const t = this.tally;
    if (d.delayMs) {
      t.delayed!++;
      await Bun.sleep(d.delayMs);
    }
    const own = d.status === a.response.status && d.size === undefined;
    const body = d.size !== undefined ? generated.subarray(0, d.size) : d.status !== a.response.status && a.outcome.bodyReason ? REASON_BODIES.get(d.status)! : a.response.body;
    const sent = sendsLength(d.status) && d.status !== 205 ? body : new Uint8Array(0);
    t.responses!++;
    t.bytes_sent! += own ? a.wireBytes : putTogetherBytes(a, d.status, req.method === "HEAD" ? 0 : sent.length);
    // No body for 204/205/304 (Bun frames those itself: 205 with Content-Length: 0);
    // for HEAD Bun sends the body's length and not the body.
    return new Response(sent.length ? sent : null, { status: d.status, headers: a.headers });
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

  routeOutcomes(): number[][] {
    return this.byOutcome.map((r) => [...r]);
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
