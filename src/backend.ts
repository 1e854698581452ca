// What serves: the native ring, or with --fallback the Bun.serve stand-in when
// io_uring is unusable here. The running-server interface both implement, and
// the one place a failed native start becomes a message a user can act on.
import { bracketed, hostPort } from "./address.ts";
import type { Config } from "./config.ts";
import { addrInUse, RingsideError } from "./errors.ts";
import type { Log } from "./log.ts";
import { NativeServer, type Counters } from "./native.ts";

/** What server.ts and admin.ts need from either server. */
export interface Backend {
  readonly port: number;
  readonly features: string[];
  /** "" when serving natively; the reason (an error code) when degraded. */
  readonly degraded: string;
  readonly rings: number;
  /** Every counter by name (as the library describes them), summed over the rings. */
  counters(): Counters;
  /** The same, ring by ring. */
  ringCounters(): Counters[];
  /** Requests by route over the rings: the default response's, then each route's in config order. */
  routeRequests(): number[];
  /** A name of enum state: starting, running, draining, stopped. */
  state(): string;
  stop(drainMs: number): void;
  destroy(): void;
}

/** rs_start's failed step and errno, as the error a user can act on. */
function startError(e: RingsideError, cfg: Config): RingsideError {
  const { step, errno } = e;
  const detail = e.message;
  if (step === "bind") {
    if (errno === "EADDRINUSE") return addrInUse("port", cfg.port, cfg.host, "--port");
    if (errno === "EACCES") return new RingsideError("addr_denied", `binding ${hostPort(cfg.host, cfg.port)} is not permitted: use a port >= 1024 or grant CAP_NET_BIND_SERVICE`, errno);
    if (errno === "EADDRNOTAVAIL") return new RingsideError("addr_unavailable", `${bracketed(cfg.host)} is not an address of this machine: pass --host 0.0.0.0, 127.0.0.1 or one of its addresses`, errno);
  }
  if (step === "io_uring_setup" && (errno === "EPERM" || errno === "ENOSYS" || errno === "EACCES")) {
    return new RingsideError("io_uring_blocked", `io_uring is unavailable (${detail}): a seccomp profile (Docker/containerd default) or sysctl kernel.io_uring_disabled blocks it; allow io_uring_setup/io_uring_enter/io_uring_register or set kernel.io_uring_disabled=0`, errno);
  }
  if (step === "sqpoll" || step === "sq_aff") {
    const flag = step === "sqpoll" ? "IORING_SETUP_SQPOLL" : "IORING_SETUP_SQ_AFF";
    return new RingsideError("ring_flag_rejected", `the kernel rejected ${flag} (${detail}): use --mode batch, which needs no SQPOLL`, errno);
  }
  return new RingsideError("start", `cannot start: ${detail || errno}`, errno);
}

/** Start failures the fallback may stand in for, with the fix to name. */
const FALLBACK_HINT = "pass --fallback (RINGSIDE_FALLBACK=1) to serve through Bun.serve, degraded";
const HINTS: Record<string, string> = {
  io_uring_blocked: `in a container run with deploy/seccomp.json (--security-opt seccomp=deploy/seccomp.json; Kubernetes: a Localhost seccompProfile), or ${FALLBACK_HINT}`,
  ring_flag_rejected: `or ${FALLBACK_HINT}`,
};

function startNative(cfg: Config): Backend {
  try {
    const s = NativeServer.start(cfg.native);
    return Object.assign(s, { degraded: "" });
  } catch (e) {
    if (e instanceof RingsideError && e.code === "start" && e.step) throw startError(e, cfg);
    throw e;
  }
}

/** The native server, or with --fallback the Bun.serve stand-in when io_uring is unusable. */
export async function startBackend(cfg: Config, log: Log): Promise<Backend> {
  try {
    return startNative(cfg);
  } catch (e) {
    if (!(e instanceof RingsideError) || !HINTS[e.code]) throw e;
    if (!cfg.fallback) throw new RingsideError(e.code, `${e.message}; ${HINTS[e.code]}`, e.errno);
    log.warn("fallback", `${e.message}; serving through Bun.serve instead (--fallback): degraded, one system call or more per request`, { degraded: e.code });
    const { FallbackServer } = await import("./fallback.ts");
    return FallbackServer.start(cfg, e.code);
  }
}
