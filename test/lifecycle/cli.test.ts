// What a user who gets something wrong sees: one line naming the input and
// the fix, the right exit code, never a stack trace.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, runCli, startServer } from "../lib/helpers.ts";

/** A routes file whose third route is /x, and one that gives /y twice. */
const DIR = mkdtempSync(join(tmpdir(), "ringside-cli-"));
afterAll(() => rmSync(DIR, { recursive: true }));
const ROUTES_FILE = join(DIR, "routes.json");
writeFileSync(ROUTES_FILE, JSON.stringify([{ path: "/a" }, { path: "/b/*" }, { path: "/x", status: 204 }]));
const TWICE_FILE = join(DIR, "twice.json");
writeFileSync(TWICE_FILE, JSON.stringify([{ path: "/y" }, { path: "/z" }, { path: "/y", body: "again" }]));
const FAULT_FILE = join(DIR, "fault.json");
writeFileSync(FAULT_FILE, JSON.stringify([{ path: "/f", fault: 5 }]));
const quoted = (s: string): string => s.replace(/[.*?()[\]/\\]/g, "\\$&");

const expectOneLine = (stderr: string, pattern: RegExp) => {
  const lines = stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\bat .*:\d+:\d+/); // no stack frames
};

describe("usage errors exit 2 with one line", () => {
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ["unknown flag", ["--bogus"], {}, /Unknown option '--bogus'.*--help/],
    ["port out of range", ["--port", "70000"], {}, /--port must be a whole number from 0 to 65535, got '70000'/],
    ["port not a number", ["--port", "http"], {}, /--port must be a whole number/],
    ["PORT env out of range", [], { PORT: "-1" }, /PORT \(--port\) must be a whole number from 0 to 65535/],
    ["status below 200", ["--status", "99"], {}, /^ringside: error: --status '99' must be a registered status code from 200 to 599 or a list like 200,503@10%,429@5%$/],
    ["status above 599", ["--status", "600"], {}, /--status '600' must be a registered status code from 200 to 599/],
    ["status without a reason phrase", ["--status", "299"], {}, /--status '299' must be a registered status code/],
    ["missing body file", ["--body-file", "/nonexistent/body"], {}, /--body-file '\/nonexistent\/body' cannot be read \(ENOENT\)/],
    ["body and body file", ["--body", "x", "--body-file", "package.json"], {}, /--body and --body-file conflict/],
    ["bad mode", ["--mode", "turbo"], {}, /--mode must be one of auto, spin, sqpoll, batch, got 'turbo'/],
    ["bad host", ["--host", "example.com"], {}, /--host must be a numeric IPv4 or IPv6 address/],
    ["bad duration", ["--drain-timeout", "soon"], {}, /--drain-timeout must be a duration like 250ms, 5s, 1m or 1h/],
    ["bad spin budget", ["--spin-budget=-5"], {}, /--spin-budget must be a duration .*or 'forever', got '-5'/],
    ["negative value without =", ["--port", "-1"], {}, /--port value starts with '-': write --port=VALUE/],
    ["flag without its value", ["--mode"], {}, /--mode needs a value; see --help/],
    ["spin budget outside spin mode", ["--mode", "batch", "--spin-budget", "10ms"], {}, /--spin-budget applies to --mode spin only/],
    ["sq-cpu in batch mode", ["--mode", "batch", "--sq-cpu", "0"], {}, /--sq-cpu pins SQPOLL threads, which --mode batch does not have/],
    ["max-requests without keep-alive", ["--max-requests", "5"], {}, /--max-requests needs --keep-alive/],
    ["header the server owns", ["--header", "Content-Length: 5"], {}, /--header Content-Length cannot be set/],
    ["malformed header", ["--header", "no colon here"], {}, /--header 'no colon here' is not 'Name: value'/],
    ["header with a newline", ["--header", "X-A: b\r\nX-Evil: 1"], {}, /is not 'Name: value'/],
    ["bad content type", ["--content-type", "html"], {}, /--content-type 'html' is not a media type/],
    ["body on a 204", ["--status", "204", "--body", "x"], {}, /--status 204 responses carry no body/],
    ["body on a 205", ["--status", "205", "--body", "x"], {}, /^ringside: error: --status 205 responses carry no body: drop --body\/--body-file$/],
    ["bad boolean env", [], { RINGSIDE_KEEP_ALIVE: "maybe" }, /RINGSIDE_KEEP_ALIVE must be 1\/true/],
    ["positional argument", ["serve-now"], {}, /Unexpected argument 'serve-now'/],
    ["cpu beyond the machine", ["--cpu", "4000"], {}, /--cpu 4000: this machine has CPUs 0-\d+/],
    ["route path without a slash", ["--route", "healthz=200"], {}, /--route 'healthz=200': path 'healthz' must start with \//],
    ["route path with a query", ["--route", "/a?b=200"], {}, /without '\?'/],
    ["route status not registered", ["--route", "/a=299"], {}, /--route '\/a=299': status '299' must be a registered status code from 200 to 599/],
    ["route attribute unknown", ["--route", "/a=200 colour=red"], {}, /unknown attribute 'colour': use body, body-file, type, header, status, delay, fault, size$/],
    ["route quote unterminated", ["--route", '/a body="open'], {}, /cannot read 'body="open': attributes are key=value or key="value with spaces"/],
    ["route body on a 204", ["--route", "/a=204 body=x"], {}, /status 204 responses carry no body/],
    ["route body on a 205", ["--route", "/a=205 body=x"], {}, /^ringside: error: --route '\/a=205 body=x': status 205 responses carry no body: drop body\/body-file$/],
    ["route given twice", ["--route", "/a", "--route", "/a=404"], {}, /^ringside: error: route \/a is given twice \(--route '\/a', and --route '\/a=404'\): keep one of them$/],
    ["route given twice, in a routes file and by --route", ["--routes", ROUTES_FILE, "--route", "/x=404"], {}, new RegExp(`^ringside: error: route /x is given twice \\(--routes '${quoted(ROUTES_FILE)}': route 3, and --route '/x=404'\\): keep one of them$`)],
    ["route given twice in one routes file", ["--routes", TWICE_FILE], {}, new RegExp(`^ringside: error: route /y is given twice \\(--routes '${quoted(TWICE_FILE)}': route 1, and --routes '${quoted(TWICE_FILE)}': route 3\\): keep one of them$`)],
    ["route given twice, in RINGSIDE_ROUTES and a routes file", ["--routes", ROUTES_FILE], { RINGSIDE_ROUTES: "/c\n/b/*=503" }, new RegExp(`^ringside: error: route /b/\\* is given twice \\(--routes '${quoted(ROUTES_FILE)}': route 2, and RINGSIDE_ROUTES line 2 '/b/\\*=503'\\): keep one of them$`)],
    ["route delay not a duration", ["--route", "/a delay=soon"], {}, /delay 'soon' must be a duration/],
    ["route header the server owns", ["--route", '/a header="Content-Length: 1"'], {}, /header Content-Length cannot be set: the server sets it/],
    ["route header also in --header", ["--header", "X-A: 1", "--route", '/a header="X-A: 2"'], {}, /header X-A is given twice \(--header applies to every response\)/],
    ["RINGSIDE_ROUTES line", [], { RINGSIDE_ROUTES: "/ok=200\n/bad=999" }, /^ringside: error: RINGSIDE_ROUTES line 2 '\/bad=999': status '999'/],
    ["RINGSIDE_ROUTES line after a blank one", [], { RINGSIDE_ROUTES: "/ok=200\n\n/a colour=red" }, /^ringside: error: RINGSIDE_ROUTES line 3 '\/a colour=red': unknown attribute 'colour'/],
    ["RINGSIDE_HEADERS line", [], { RINGSIDE_HEADERS: "X-A: 1\nno colon" }, /^ringside: error: RINGSIDE_HEADERS line 2 'no colon' is not 'Name: value'/],
    ["RINGSIDE_HEADERS owned header", [], { RINGSIDE_HEADERS: "Content-Type: x/y" }, /^ringside: error: RINGSIDE_HEADERS line 1 Content-Type cannot be set: use --content-type$/],
    ["routes file missing", ["--routes", "/nonexistent/routes.json"], {}, /--routes '\/nonexistent\/routes.json' cannot be read as JSON \(ENOENT\)/],
    ["routes file not an array", ["--routes", "package.json"], {}, /--routes 'package.json' is not a JSON array of routes/],
    ["preset unknown", ["--preset", "nginx"], {}, /--preset must be one of none, default-backend, got 'nginx'/],
    ["delay too long", ["--delay", "61m"], {}, /^ringside: error: --delay '61m' must be a duration like 250ms, 5s, 1m or 1h \(1h at most\) or a list like 0,100ms@5%,1s@1%$/],
    ["delay over an hour, in hours", ["--delay", "1.01h"], {}, /--delay '1.01h' must be a duration like 250ms, 5s, 1m or 1h \(1h at most\)/],
    ["route delay over an hour", ["--route", "/a delay=2h"], {}, /--route '\/a delay=2h': delay '2h' must be a duration like 250ms, 5s, 1m or 1h \(1h at most\)/],
    // The test target's syntax (outcomes.ts): weighted lists, sizes, the seed, control.
    ["status weights over 100%", ["--status", "200,503@60%,429@50%"], {}, /^ringside: error: --status '200,503@60%,429@50%': the weights sum to 110%, over 100%$/],
    ["two statuses without @", ["--status", "200,503"], {}, /^ringside: error: --status '200,503': more than one item without @ \(the rest of the time\): give one$/],
    ["a weight without %", ["--status", "200,503@10"], {}, /^ringside: error: --status '200,503@10': '10' is not a percentage like 10% or 0\.5% \(0 to 100, up to 4 decimals\)$/],
    ["a weight with 5 decimals", ["--fault", "reset@0.00001%"], {}, /--fault 'reset@0\.00001%': '0\.00001%' is not a percentage/],
    ["an unknown weighted status", ["--status", "200,503@10%,299@5%"], {}, /^ringside: error: --status '200,503@10%,299@5%': '299' is not a registered status code from 200 to 599$/],
    ["a status weighted twice", ["--status", "503@5%,503@5%"], {}, /--status '503@5%,503@5%': '503@5%' repeats a value given before it: give each once$/],
    ["nine weighted statuses", ["--status", "500@1%,501@1%,502@1%,503@1%,504@1%,505@1%,506@1%,507@1%,508@1%"], {}, /: 9 weighted items, 8 at most$/],
    ["a fault that is not one", ["--fault", "reset@1%,boom@1%"], {}, /^ringside: error: --fault 'reset@1%,boom@1%': 'boom' is not a fault \(reset, close or hang\)$/],
    ["fault weights over 100%", ["--fault", "reset@50%,hang@50.5%"], {}, /--fault 'reset@50%,hang@50\.5%': the weights sum to 100\.5%, over 100%$/],
    ["a weighted delay over an hour", ["--delay", "0,2h@1%"], {}, /^ringside: error: --delay '0,2h@1%': '2h' is not a duration like 250ms, 5s, 1m or 1h \(1h at most\)$/],
    ["a size over 64 MiB", ["--size", "67108865"], {}, /^ringside: error: --size '67108865' must be N or N-M bytes \(N <= M, M from 1 to 67108864\)/],
    ["a size range upside down", ["--size", "5-2"], {}, /--size '5-2' must be N or N-M bytes/],
    ["size and body", ["--size", "10", "--body", "x"], {}, /^ringside: error: --size and --body conflict: give one of them$/],
    ["size on a 204", ["--size", "10", "--status", "204"], {}, /^ringside: error: --status 204 responses carry no body: drop --size$/],
    ["seed 0", ["--seed", "0"], {}, /^ringside: error: --seed must be a whole number from 1 to 9007199254740991, got '0'$/],
    ["control not a mode", ["--control", "yes"], {}, /--control must be one of off, query, header, both, got 'yes'/],
    ["max-delay over an hour", ["--control", "query", "--max-delay", "2h"], {}, /--max-delay must be a duration like 250ms, 5s, 1m or 1h \(0ms to 3600000ms\), got '2h'/],
    ["max-size over 64 MiB", ["--control", "query", "--max-size", "67108865"], {}, /--max-size must be a whole number from 0 to 67108864, got '67108865'/],
    ["max-delay without control", ["--max-delay", "5s"], {}, /^ringside: error: --max-delay bounds what --control lets a request ask for, and --control is off: drop --max-delay or give --control$/],
    ["RINGSIDE_FAULT env", [], { RINGSIDE_FAULT: "close@200%" }, /^ringside: error: RINGSIDE_FAULT \(--fault\) 'close@200%': '200%' is not a percentage/],
    ["route status twice", ["--route", "/a=200 status=503@1%"], {}, /^ringside: error: --route '\/a=200 status=503@1%': the status is given twice \(PATH=STATUS and status=\): give one$/],
    ["route status weights over 100%", ["--route", "/a status=503@70%,500@40%"], {}, /^ringside: error: --route '\/a status=503@70%,500@40%': status '503@70%,500@40%': the weights sum to 110%, over 100%$/],
    ["route size and body", ["--route", "/a size=10 body=x"], {}, /^ringside: error: --route '\/a size=10 body=x': size and body\/body-file conflict: give one of them$/],
    ["route size over the limit", ["--route", "/a size=1-99999999"], {}, /--route '\/a size=1-99999999': size '1-99999999' must be N or N-M bytes/],
    ["route fault unknown", ["--route", "/a fault=drop@5%"], {}, /--route '\/a fault=drop@5%': fault 'drop@5%': 'drop' is not a fault \(reset, close or hang\)$/],
    ["routes file fault not a string", ["--routes", FAULT_FILE], {}, new RegExp(`^ringside: error: --routes '${quoted(FAULT_FILE)}': route 1: fault must be a string$`)],
  ];
  test.each(cases)("%s", async (_name, args, env, message) => {
    const r = await runCli(["--host", "127.0.0.1", ...args], env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expectOneLine(r.stderr, message);
  });
});

test("--help lists every flag and exits 0", async () => {
  const r = await runCli(["--help"]);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe("");
  for (const flag of ["--port", "--host", "--mode", "--keep-alive", "--spin-budget", "--drain-timeout", "--header"]) {
    expect(r.stdout).toContain(flag);
  }
});

test("--help says what --delay holds back: responses to complete requests, not error responses", async () => {
  const r = await runCli(["--help"]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(r.stdout).toContain("\n  --delay DURATION|LIST\n      hold every response to a complete request back this long (error responses go at once; ");
});

test("--version prints the package version", async () => {
  const r = await runCli(["--version"]);
  const pkg = (await Bun.file(join(ROOT, "package.json")).json()) as { version: string };
  expect(r).toEqual({ code: 0, stdout: `ringside ${pkg.version}\n`, stderr: "" });
});

test("a port in use is one line naming the port and the fix, exit 1", async () => {
  await using first = await startServer(["--mode", "batch"]);
  const r = await runCli(["--host", "127.0.0.1", "--port", String(first.port), "--mode", "batch"]);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expectOneLine(r.stderr, new RegExp(`port ${first.port} is in use on 127.0.0.1: stop the other server or pass --port`));
});

test("an address that is not this machine's is one line, exit 1", async () => {
  const r = await runCli(["--host", "192.0.2.1", "--port", "0", "--mode", "batch"]);
  expect(r.code).toBe(1);
  expectOneLine(r.stderr, /192\.0\.2\.1 is not an address of this machine/);
});

describe("io_uring blocked by seccomp", () => {
  const deny = join(ROOT, "native", "build", "deny_io_uring");
  const build = Bun.spawnSync(["make", "-s", "-C", join(ROOT, "native"), "build/deny_io_uring"]);

  test.each([
    ["EPERM (Docker/containerd default)", "1", "EPERM"],
    ["ENOSYS", "38", "ENOSYS"],
  ])("%s: one line naming seccomp and the fix, exit 1", async (_name, errno, name) => {
    expect(build.success).toBe(true);
    const r = await runCli(["bun", join(ROOT, "src", "cli.ts"), "--host", "127.0.0.1", "--port", "0"], {}, [deny, errno]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expectOneLine(r.stderr, new RegExp(`io_uring is unavailable .*seccomp.*io_uring_setup.* errno=${name}`));
  });
});
