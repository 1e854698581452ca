// What idle keep-alive connections cost a server in memory: N clients each
// send one request, read the response and stay connected; VmRSS of all the
// server's processes before, while they are held, and after they leave. Two
// rounds: the second runs on memory the first freed, so its growth over the
// first baseline shows whether anything is kept per connection that left.
// (test/idle-connections.test.ts checks the behaviour at 10,000: every one
// answered, nothing left behind; the figures are here.)
import { openIdle, type IdleClient } from "../../test/lib/idle-clients.ts";
import { kb, openConnections, waitFor } from "../../test/lib/proc.ts";
import { BODY } from "./config.ts";

export interface FootprintRound {
  baseKb: number;
  heldKb: number;
  afterKb: number;
}

export interface Footprint {
  connections: number;
  rounds: FootprintRound[];
  /** RSS growth while held, over the first round's baseline, in bytes per connection, by round. */
  perConnectionB: number[];
}

const REQUEST = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
/** Connections opened at once: well inside the listen backlog. */
const BATCH = 500;

/** Opens n connections, a batch at a time once the last is answered, and waits until each has its response. */
async function holdMany(port: number, n: number, timeoutMs: number): Promise<IdleClient[]> {
  const answered = (cs: IdleClient[]) => waitFor(`responses on ${cs.length} connections`, () => cs.every((c) => c.text.endsWith(BODY)), timeoutMs);
  const clients = await openIdle(port, n, { request: REQUEST, batch: BATCH, pace: answered });
  await answered(clients);
  return clients;
}

const rssKb = (pids: readonly number[]): number => pids.reduce((a, pid) => a + kb(pid, "VmRSS"), 0);

async function round(port: number, pids: readonly number[], n: number, timeoutMs: number): Promise<FootprintRound> {
  const baseKb = rssKb(pids);
  const held = await holdMany(port, n, timeoutMs);
  const heldKb = rssKb(pids);
  for (const h of held) h.sock.destroy();
  await waitFor(`the server to close ${n} connections`, () => openConnections(port) === 0, timeoutMs);
  return { baseKb, heldKb, afterKb: rssKb(pids) };
}

export async function idleFootprint(port: number, pids: readonly number[], n: number, timeoutMs: number): Promise<Footprint> {
  const rounds = [await round(port, pids, n, timeoutMs), await round(port, pids, n, timeoutMs)];
  const first = rounds[0]!.baseKb;
  return { connections: n, rounds, perConnectionB: rounds.map((r) => ((r.heldKb - first) * 1024) / n) };
}
