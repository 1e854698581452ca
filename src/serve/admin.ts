// The optional admin listener (--admin-port, off by default), on Bun.serve:
//   /healthz  200 while the process is alive
//   /readyz   200 while the server is running and accepting, 503 otherwise
//             (starting, draining, stopped)
//   /metrics  Prometheus text (metrics.ts)
// It runs on the JS thread and only reads the counters: no FFI call.
import type { Server } from "bun";
import { urlOf } from "../lib/address.ts";
import { addrInUse, RingsideError } from "../lib/errors.ts";
import { metricsText, type AdminView } from "./metrics.ts";

const text = (body: string, status = 200, type = "text/plain; charset=utf-8"): Response =>
  new Response(body, { status, headers: { "Content-Type": type, "Cache-Control": "no-store" } });

export interface Admin {
  url: string;
  stop(): void;
}

function route(path: string, view: AdminView): Response {
  if (path === "/healthz") return text("ok\n");
  if (path === "/readyz") {
    const state = view.server.state();
    return state === "running" ? text("ready\n") : text(`not ready: ${state}\n`, 503);
  }
  if (path === "/metrics") return text(metricsText(view), 200, "text/plain; version=0.0.4; charset=utf-8");
  return text("not found: try /healthz, /readyz or /metrics\n", 404);
}

/** Starts the admin listener; throws RingsideError if it cannot bind. */
export function startAdmin(at: { host: string; port: number }, view: AdminView): Admin {
  let admin: Server<undefined>;
  try {
    admin = Bun.serve({ hostname: at.host, port: at.port, fetch: (req) => route(new URL(req.url).pathname, view) });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw addrInUse("admin port", at.port, at.host, "another --admin-port");
    throw new RingsideError("start", `admin listener cannot start on ${at.host}:${at.port}: ${e instanceof Error ? e.message : String(e)}`, code);
  }
  return { url: urlOf(at.host, admin.port ?? at.port), stop: () => void admin.stop(true) };
}
