// Which route answers a request, as the C policy (native/policy.c) picks it:
// for the Bun.serve fallback, which cannot ask the ring.
import type { Route } from "../config/routes.ts";

/** The path of a request URL, escapes kept (new URL() would re-encode it).
 * Bun has already resolved dot segments, which the ring leaves alone: the
 * one way the fallback matches differently (docs/http.md). */
export function rawPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return url.slice(start, query < 0 ? undefined : query);
}

/** The index of the route for a path: exact first, else the longest prefix, else -1. */
export function matchRoute(routes: readonly Route[], path: string): number {
  let best = -1;
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!;
    if (!r.prefix && r.path === path) return i;
    if (r.prefix && path.startsWith(r.path) && (best < 0 || r.path.length > routes[best]!.path.length)) best = i;
  }
  return best;
}
