// deploy/kubernetes/faulty-replica.yaml, the outlier-detection example: two
// Deployments behind one Service, one of them faulty. Field-checked (the
// Service selects both, each Deployment only its own pods, hardened like the
// benchmark target), then each Deployment's environment run as the cluster
// would run it: the healthy replica always answers 200, the faulty one draws
// its 503s, resets and delays by its weights.
import { describe, expect, test } from "bun:test";
import { OPTIONS } from "../../src/config/flags.ts";
import { readRepo, startServer, stopClean } from "../lib/helpers.ts";
import { scrapeOutcomes, seenMany, tallySeen, withinSigmas } from "../lib/outcomes.ts";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);
const ENV_NAMES = new Set(OPTIONS.flatMap((o) => (o.env ? [o.env] : [])));
const DOCKER_USER = /^USER (\d+)/m.exec(readRepo("Dockerfile"))![1]!;

const documents = (Bun.YAML.parse(readRepo("deploy/kubernetes/faulty-replica.yaml")) as unknown[]).map(obj);
const deployments = documents.filter((d) => d.kind === "Deployment");
const service = obj(documents.find((d) => d.kind === "Service")!.spec);
const named = (name: string): Obj => deployments.find((d) => obj(d.metadata).name === name)!;
const podOf = (d: Obj): Obj => obj(obj(d.spec).template);
const containerOf = (d: Obj): Obj => arr(obj(podOf(d).spec).containers).find((c) => c.name === "ringside")!;
const envOf = (d: Obj): Record<string, string> => Object.fromEntries(arr(containerOf(d).env).map((e) => [String(e.name), String(e.value)]));
const matches = (selector: Obj, labels: Obj): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Runs ringside with a Deployment's env, on loopback and a free port. */
const startWith = (d: Obj) => startServer(["--mode", "batch", "--rings", "1"], { ...envOf(d), PORT: "0", HOST: "127.0.0.1", RINGSIDE_ADMIN_PORT: "0" });
const GET = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

describe("deploy/kubernetes/faulty-replica.yaml: two Deployments behind one Service, one faulty", () => {
  test("two Deployments and a Service that selects the pods of both; each Deployment selects only its own", () => {
    expect(documents.map((d) => d.kind).sort()).toEqual(["Deployment", "Deployment", "Service"]);
    expect(deployments.map((d) => obj(d.metadata).name).sort()).toEqual(["ringside-faulty", "ringside-healthy"]);
    const labels = deployments.map((d) => obj(obj(podOf(d).metadata).labels));
    for (const l of labels) expect(matches(obj(service.selector), l)).toBe(true);
    for (const [i, d] of deployments.entries()) {
      const selector = obj(obj(obj(d.spec).selector).matchLabels);
      expect(matches(selector, labels[i]!)).toBe(true);
      expect(matches(selector, labels[1 - i]!)).toBe(false);
      const ports = arr(containerOf(d).ports).map((p) => p.name);
      for (const p of arr(service.ports)) expect(ports).toContain(p.targetPort);
    }
  });

  test("hardened like the benchmark target; probes on the admin port, which no fault touches; every env var a ringside option", () => {
    for (const d of deployments) {
      const c = containerOf(d);
      expect(String(obj(obj(podOf(d).spec).securityContext).runAsUser)).toBe(DOCKER_USER);
      expect(obj(c.securityContext)).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, seccompProfile: { type: "Localhost", localhostProfile: "profiles/ringside.json" } });
      for (const probe of ["readinessProbe", "livenessProbe"]) expect(obj(obj(c[probe]).httpGet).port).toBe("admin");
      for (const name of Object.keys(envOf(d))) expect(ENV_NAMES.has(name), name).toBe(true);
    }
    expect(envOf(named("ringside-healthy"))).not.toHaveProperty("RINGSIDE_FAULT");
    expect(envOf(named("ringside-faulty"))).toMatchObject({ RINGSIDE_STATUS: "200,503@30%", RINGSIDE_FAULT: "reset@5%" });
  });

  test("run with each one's env: the healthy replica answers 200 every time, the faulty one draws its 503s and resets", async () => {
    const N = 400;
    await using healthy = await startWith(named("ringside-healthy"));
    expect(tallySeen(await seenMany(healthy.port, GET, N, 16))).toEqual({ "200": N });
    await stopClean(healthy);
    await using faulty = await startWith(named("ringside-faulty"));
    expect(faulty.startup.fields.seed).toBe("19");
    const seen = tallySeen(await seenMany(faulty.port, GET, N, 32));
    const o = (await scrapeOutcomes(faulty.startup.fields.admin!)).default!;
    await stopClean(faulty);
    expect(seen).toEqual({ "200": o.statuses["200"]!, "503": o.statuses["503"]!, reset: o.faults.reset! });
    expect(withinSigmas(o.statuses["503"]!, N, 0.95 * 0.3)).toBe(true);
    expect(withinSigmas(o.faults.reset!, N, 0.05)).toBe(true);
  }, 60_000);
});
