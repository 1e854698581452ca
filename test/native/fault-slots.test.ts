// Faults never cost another client its connection. With the connection table
// full and clients waiting in the backlog, a connection closed by a fault
// frees its slot for the next client, who is accepted and answered: never
// accepted and then dropped (which the client sees as a reset). The close
// behind fault=reset runs after its socket command, later than a plain close:
// an accept issued before it would find the table full.
import { describe, expect, test } from "bun:test";
import { startServer, stopClean } from "../lib/helpers.ts";
import { broken, goodClient, type GoodOutcome } from "../lib/churn.ts";
import { seen } from "../lib/outcomes.ts";

const SLOTS = 4;
const GOOD_CLIENTS = 64;
const GOOD_AT_ONCE = 8;
const FAULTY_LOOPS = 4;

describe.each(["reset", "close", "hang"])("fault=%s", (fault) => {
  test.each(["spin", "batch"])(`%s mode: keep-alive clients queue for ${SLOTS} slots that faulted connections keep freeing: none is dropped`, async (mode) => {
    await using s = await startServer(["--mode", mode, "--rings", "1", "--keep-alive", "--max-connections", String(SLOTS), "--header-timeout", "200ms", "--route", `/fault fault=${fault}`]);
    let running = true;
    let faulted = 0;
    const faulty = Array.from({ length: FAULTY_LOOPS }, async () => {
      for (; running; faulted++) await seen(s.port, "GET /fault HTTP/1.1\r\nHost: t\r\n\r\n");
    });
    const outcomes: GoodOutcome[] = [];
    for (let i = 0; i < GOOD_CLIENTS; i += GOOD_AT_ONCE) {
      outcomes.push(...(await Promise.all(Array.from({ length: GOOD_AT_ONCE }, () => goodClient(s.port, 4)))));
    }
    running = false;
    await Promise.all(faulty);
    const c = await stopClean(s);
    console.log(`fault=${fault} ${mode}: ${outcomes.length - broken(outcomes, 4).length}/${outcomes.length} good clients whole, ${faulted} faulted; server ${JSON.stringify(c)}`);
    expect(faulted).toBeGreaterThan(FAULTY_LOOPS);
    expect(broken(outcomes, 4)).toEqual([]);
    // An accept that finds the table full has already taken the client off
    // the backlog: it is closed, and backs accepting off.
    expect(c).toMatchObject({ accept_errors: 0, accept_backoffs: 0, active: 0 });
    expect(c[`faults_${fault}`]).toBe(faulted);
  }, 60_000);
});
