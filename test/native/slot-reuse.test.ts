// Slot reuse: with the connection table full and clients waiting in the
// backlog, every slot a hostile client frees is taken at once by the next
// client. Nothing queued for the old connection (its lingering close's
// shutdown, a cancel, a recv, a reset's socket command) may touch the new one:
// every waiting client gets every response it asks for, on a connection the
// server keeps open. The hostile clients include a flaky route's: resets,
// closes and hangs (cut at --header-timeout) free their slots too.
import { describe, expect, test } from "bun:test";
import { startServer, stopClean } from "../lib/helpers.ts";
import { broken, FLAKY_ROUTE, flakyRings, goodClient, hostileClient, HOSTILE_KINDS, type GoodOutcome } from "../lib/churn.ts";

const SLOTS = 4;
const HOSTILE_LOOPS = 4;
const GOOD_CLIENTS = 96;
const GOOD_AT_ONCE = 12;
const REQUESTS_EACH = 4;

describe.each(["spin", "sqpoll", "batch"])("%s mode", (mode) => {
  test(`${GOOD_CLIENTS} keep-alive clients queue for ${SLOTS} slots that hostile clients keep freeing: every response arrives, no connection is cut`, async () => {
    await using s = await startServer(["--mode", mode, ...flakyRings(mode), "--keep-alive", "--max-connections", String(SLOTS), "--header-timeout", "5s", ...FLAKY_ROUTE]);
    let running = true;
    let hostileDone = 0;
    const hostile = Array.from({ length: HOSTILE_LOOPS }, async (_, w) => {
      // Each loop cycles through every kind, starting at its own.
      for (let k = w; running; k++) {
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
    // ones whose client reset or left before reading it, and the faults drawn
    // for the flaky route (a hang is cut at --header-timeout).
    expect(c.faults_reset! + c.faults_close! + c.faults_hang!).toBeGreaterThan(0);
    expect(c.header_timeouts).toBe(c.faults_hang!);
    expect(c.responses! + c.client_resets! + c.faults_reset! + c.faults_close! + c.faults_hang!).toBeGreaterThanOrEqual(c.requests! + c.bad_requests! + c.too_large!);
  }, 60_000);
});
