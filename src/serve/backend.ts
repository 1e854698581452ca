// What serves, as server.ts and the admin listener see it: the native ring
// (native.ts) or the Bun.serve stand-in (fallback.ts); start.ts picks one.
import type { Counters } from "./native.ts";

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
  /** ... and by outcome: per route, one count per status of responses.ts
   * STATUS_CODES, then one per fault (FAULTS); a route's sum to its requests. */
  routeOutcomes(): number[][];
  /** A name of enum state: starting, running, draining, stopped. */
  state(): string;
  stop(drainMs: number): void;
  destroy(): void;
}
