// Slot reuse: with the connection table full and clients waiting in the
// backlog, every slot a hostile client frees is taken at once by the next
// client. Nothing queued for the old connection (its lingering close's
// shutdown, a cancel, a recv) may touch the new one: every waiting client gets
// every response it asks for, on a connection the server keeps open.
import { describe, expect, test } from "bun:test";
import { startServer, stopClean } from "../lib/helpers.ts";
import { broken, goodClient, hostileClient, HOSTILE_KINDS, type GoodOutcome } from "../lib/churn.ts";

const SLOTS = 4;
const HOSTILE_LOOPS = 4;
const GOOD_CLIENTS = 96;
const GOOD_AT_ONCE = 12;
const REQUESTS_EACH = 4;

describe.each(["spin", "sqpoll", "batch"])("%s mode", (mode) => {
  test(`${GOOD_CLIENTS} keep-alive clients queue for ${SLOTS} slots that hostile clients keep freeing: every response arrives, no connection is cut`, async () => {
    await using s = await startServer(["--mode", mode, "--keep-alive", "--max-connections", String(SLOTS), "--header-timeout", "5s"]);
    let running = true;
    let hostileDone = 0;
    const hostile = Array.from({ length: HOSTILE_LOOPS }, async (_, w) => {
      for (let k = w; running; k += HOSTILE_LOOPS) {
        await hostileClient(s.port, HOSTILE_KINDS[k % HOSTILE_KINDS.length]!);
        hostileDone++;
      }
    });
    const outcomes: GoodOutcome[] = [];
    for (let i = 0; i < GOOD_CLIENTS; i += GOOD_AT_ONCE) {
      outcomes.push(...(await Promise.all(Array.from({ length: GOOD_AT_ONCE }, () => goodClient(s.port, REQUESTS_EACH)))));
    }
    running = false;
    await Promise.all(hostile);
    const c = await stopClean(s);

    const bad = broken(outcomes, REQUESTS_EACH);
    console.log(`${mode}: ${outcomes.length - bad.length}/${outcomes.length} good clients whole, ${hostileDone} hostile clients; server ${JSON.stringify(c)}`);
    expect(bad).toEqual([]);
    expect(hostileDone).toBeGreaterThan(HOSTILE_LOOPS);
    expect(c).toMatchObject({ active: 0, recv_errors: 0, send_errors: 0, accept_errors: 0 });
    // Every request read got its response (errors included), except the
    // ones whose client reset or left before reading it.
    expect(c.responses! + c.client_resets!).toBeGreaterThanOrEqual(c.requests! + c.bad_requests! + c.too_large!);
  }, 60_000);
});
