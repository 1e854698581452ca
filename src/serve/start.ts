// Starts what serves: the native ring, or with --fallback the Bun.serve
// stand-in when io_uring is unusable here. The one place a failed native
// start becomes a message a user can act on.
import type { Config } from "../config/config.ts";
import { bracketed, hostPort } from "../lib/address.ts";
import { addrInUse, RingsideError } from "../lib/errors.ts";
import type { Log } from "../lib/log.ts";
import { noIoUring } from "../lib/no-io-uring.ts";
import type { Backend } from "./backend.ts";
import { NativeServer } from "./native.ts";
import { nativeFields } from "./native-config.ts";

/** rs_start's failed step and errno, as the error a user can act on. */
function startError(e: RingsideError, cfg: Config): RingsideError {
  const { step, errno } = e;
  const detail = e.message;
  if (step === "bind") {
    if (errno === "EADDRINUSE") return addrInUse("port", cfg.values.port, cfg.values.host, "--port");
    if (errno === "EACCES") return new RingsideError("addr_denied", `binding ${hostPort(cfg.values.host, cfg.values.port)} is not permitted: use a port >= 1024 or grant CAP_NET_BIND_SERVICE`, errno);
    if (errno === "EADDRNOTAVAIL") return new RingsideError("addr_unavailable", `${bracketed(cfg.values.host)} is not an address of this machine: pass --host 0.0.0.0, 127.0.0.1 or one of its addresses`, errno);
  }
  if (step === "io_uring_setup" && (errno === "EPERM" || errno === "ENOSYS" || errno === "EACCES")) {
    const why = noIoUring(errno);
    return new RingsideError(why.code, `io_uring is unavailable (${detail}): ${why.cause}; ${why.fix}`, errno);
  }
  if (step === "sqpoll" || step === "sq_aff") {
    const flag = step === "sqpoll" ? "IORING_SETUP_SQPOLL" : "IORING_SETUP_SQ_AFF";
    return new RingsideError("ring_flag_rejected", `the kernel rejected ${flag} (${detail}): use --mode batch, which needs no SQPOLL`, errno);
  }
  return new RingsideError("start", `cannot start: ${detail || errno}`, errno);
}

/** Start failures the fallback may stand in for, with the end of their message. */
const FALLBACK_HINT = "or pass --fallback (RINGSIDE_FALLBACK=1) to serve through Bun.serve, degraded";
const HINTS: Record<string, string> = {
  io_uring_blocked: `, ${FALLBACK_HINT}`,
  io_uring_missing: `, ${FALLBACK_HINT}`,
  ring_flag_rejected: `; ${FALLBACK_HINT}`,
};

function startNative(cfg: Config): Backend {
  try {
    const s = NativeServer.start(nativeFields(cfg));
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
    if (!cfg.values.fallback) throw new RingsideError(e.code, `${e.message}${HINTS[e.code]}`, e.errno);
    log.warn("fallback", `${e.message}; serving through Bun.serve instead (--fallback): degraded, one system call or more per request`, { degraded: e.code });
    const { FallbackServer } = await import("./fallback.ts");
    return FallbackServer.start(cfg, e.code);
  }
}
