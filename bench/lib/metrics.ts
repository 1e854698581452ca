// ringside's /metrics (--admin-port), read for the share of the load each ring
// took: the per-ring counters ringside_ring_accepted_total{ring="K"} and
// ringside_ring_requests_total{ring="K"}.

/** What one ring accepted and served (over a run, as a difference of two scrapes). */
export interface RingShare {
  accepted: number;
  requests: number;
}

const PER_RING = /^ringside_ring_(accepted|requests)_total\{ring="(\d+)"\} (\d+(?:\.\d+)?(?:e\+?\d+)?)$/gm;

/** Per-ring accepted and requests counters from Prometheus text, indexed by ring. */
export function parseRingMetrics(text: string): RingShare[] {
  const rings: RingShare[] = [];
  for (const m of text.matchAll(PER_RING)) {
    const k = Number(m[2]);
    const ring = (rings[k] ??= { accepted: 0, requests: 0 });
    ring[m[1] as keyof RingShare] = Number(m[3]);
  }
  // A ring missing from the text (never seen) counts as zero, not as a hole.
  return Array.from(rings, (r) => r ?? { accepted: 0, requests: 0 });
}

/** What each ring did between two scrapes. */
export function ringDelta(before: readonly RingShare[], after: readonly RingShare[]): RingShare[] {
  return after.map((a, k) => ({ accepted: a.accepted - (before[k]?.accepted ?? 0), requests: a.requests - (before[k]?.requests ?? 0) }));
}

/** GET ADMIN/metrics, parsed per ring. */
export async function scrapeRings(adminUrl: string): Promise<RingShare[]> {
  // Long enough for a SYN retried twice (1 s, then 3 s) on a busy loopback.
  const res = await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${adminUrl}/metrics: HTTP ${res.status}`);
  return parseRingMetrics(await res.text());
}
