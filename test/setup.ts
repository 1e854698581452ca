// Preloaded by bun test (bunfig.toml). Every suite here starts real servers
// and clients, so a test gets 30 s; the few slower ones (soak, strace, 10k
// connections) say their own limit. When the run ends, whatever a failed test
// left running is killed (bun test fires no process "exit" handlers).
import { afterAll, setDefaultTimeout } from "bun:test";
import { killStrays } from "./lib/proc.ts";

setDefaultTimeout(30_000);
afterAll(killStrays);
