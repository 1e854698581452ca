// Preloaded by bun test (bunfig.toml). Every suite here starts real servers
// and clients, so a test gets 30 s; the few slower ones (soak, strace, 10k
// connections) say their own limit.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(30_000);
