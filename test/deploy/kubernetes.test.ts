// The Kubernetes manifests under deploy/kubernetes: ringside as a native
// sidecar, hardened, probed on its admin port, sized for its mode.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pickLayout } from "../../src/config/layout.ts";
import { OPTIONS } from "../../src/config/flags.ts";
import { readRepo, ROOT } from "../lib/helpers.ts";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);

const K8S_DIR = join(ROOT, "deploy", "kubernetes");
const manifests = readdirSync(K8S_DIR).filter((f) => f.endsWith(".yaml"));
/** A file's documents (several when separated by ---). */
const docs = (file: string): Obj[] => {
  const parsed = Bun.YAML.parse(readFileSync(join(K8S_DIR, file), "utf8"));
  return Array.isArray(parsed) ? parsed.map(obj) : [obj(parsed)];
};
const podSpec = (doc: Obj): Obj => (doc.kind === "Pod" ? obj(doc.spec) : obj(obj(obj(doc.spec).template).spec));
const hasSidecar = (doc: Obj): boolean => arr(podSpec(doc).initContainers).some((c) => c.name === "ringside");
const sidecarFiles = manifests.filter((f) => docs(f).some(hasSidecar));

const envOf = (c: Obj): Record<string, string> => Object.fromEntries(arr(c.env).map((e) => [String(e.name), String(e.value)]));

/** Kubernetes CPU quantity in CPUs ("500m" -> 0.5, "2" -> 2). */
const cpu = (q: unknown): number => (String(q).endsWith("m") ? Number(String(q).slice(0, -1)) / 1000 : Number(q));
/** ringside duration text in seconds ("5s", "1500ms", "1m"). */
const seconds = (d: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(d)!;
  return (Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[(m[2] ?? "s") as "ms" | "s" | "m"]) / 1000;
};

test("every manifest parses as Kubernetes YAML, and two are ringside sidecar pods", () => {
  expect(manifests.length).toBeGreaterThanOrEqual(4);
  for (const f of manifests) {
    for (const doc of docs(f)) {
      expect(typeof doc.apiVersion, f).toBe("string");
      expect(typeof doc.kind, f).toBe("string");
      expect(obj(doc.metadata).name, f).toBeTruthy();
    }
  }
  expect(sidecarFiles.sort()).toEqual(["sidecar-pod-spin.yaml", "sidecar-pod.yaml"]);
});

describe.each(sidecarFiles)("%s", (file) => {
  const spec = podSpec(docs(file).find(hasSidecar)!);
  const sidecar = arr(spec.initContainers).find((c) => c.name === "ringside")!;
  const env = envOf(sidecar);
  const sc = obj(sidecar.securityContext);

  test("ringside is a native sidecar next to an app container", () => {
    expect(sidecar.restartPolicy).toBe("Always");
    expect(arr(spec.containers).length).toBeGreaterThanOrEqual(1);
    expect(String(sidecar.image)).toMatch(/ringside/);
  });

  test("every env var it sets is a ringside option's", () => {
    const known = new Set(OPTIONS.flatMap((o) => (o.env ? [o.env] : [])));
    for (const name of Object.keys(env)) expect(known.has(name), name).toBe(true);
  });

  test("the Localhost seccomp profile the installer writes", () => {
    const profile = obj(sc.seccompProfile);
    expect(profile.type).toBe("Localhost");
    expect(profile.localhostProfile).toBe("profiles/ringside.json");
    const installer = readRepo("deploy/kubernetes/seccomp-profile-installer.yaml");
    expect(installer).toContain("/var/lib/kubelet/seccomp");
    expect(installer).toContain("/host/profiles/ringside.json");
    expect(installer).toContain("--from-file=ringside.json=deploy/seccomp.json");
  });

  test("startup, readiness and liveness probes on the admin port", () => {
    const ports = Object.fromEntries(arr(sidecar.ports).map((p) => [String(p.name), Number(p.containerPort)]));
    expect(ports.admin).toBe(Number(env.RINGSIDE_ADMIN_PORT));
    expect(ports.http).toBe(Number(env.PORT));
    expect(ports.http).toBeGreaterThanOrEqual(1024);
    const probe = (kind: string): Obj => obj(obj(sidecar[kind]).httpGet);
    expect(probe("startupProbe")).toEqual({ path: "/readyz", port: "admin" });
    expect(probe("readinessProbe")).toEqual({ path: "/readyz", port: "admin" });
    expect(probe("livenessProbe")).toEqual({ path: "/healthz", port: "admin" });
  });

  test("non-root, read-only root, no privilege escalation, no capabilities", () => {
    const pod = obj(spec.securityContext);
    expect(pod.runAsNonRoot).toBe(true);
    const dockerUser = /^USER (\d+)/m.exec(readRepo("Dockerfile"))![1];
    expect(String(pod.runAsUser)).toBe(dockerUser!);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(obj(sc.capabilities).drop).toEqual(["ALL"]);
  });

  test("resources fit the mode: whole CPUs for the polling modes; no mode set where auto picks the same", () => {
    const { requests, limits } = obj(sidecar.resources) as { requests: Obj; limits: Obj };
    for (const r of [requests, limits]) {
      expect(r.cpu).toBeDefined();
      expect(r.memory).toBeDefined();
    }
    // The CPU limit is the container's cgroup quota: what --mode auto reads.
    const limit = cpu(limits.cpu);
    const auto = pickLayout({ affinity: Math.ceil(limit), quota: limit, cpus: limit }, "auto", "auto").mode;
    if (env.RINGSIDE_MODE) expect(env.RINGSIDE_MODE).not.toBe(auto);
    const mode = env.RINGSIDE_MODE ?? auto;
    // spin: ring thread + SQPOLL thread poll; sqpoll: the SQPOLL thread polls.
    const polling = { spin: 2, sqpoll: 1, batch: 0 }[mode as "spin" | "sqpoll" | "batch"];
    expect(polling).toBeDefined();
    if (polling) {
      expect(cpu(limits.cpu)).toBeGreaterThanOrEqual(polling!);
      expect(Number.isInteger(cpu(limits.cpu))).toBe(true);
      expect(requests.cpu).toEqual(limits.cpu); // Guaranteed QoS, exclusive cores possible
    } else {
      expect(cpu(limits.cpu)).toBeLessThanOrEqual(1);
    }
  });

  test("the grace period covers the drain timeout, with room for the app", () => {
    const drain = seconds(env.RINGSIDE_DRAIN_TIMEOUT ?? OPTIONS.find((o) => o.flag === "drain-timeout")!.def!);
    const grace = Number(spec.terminationGracePeriodSeconds);
    expect(grace).toBeGreaterThan(drain);
    expect(grace).toBeLessThanOrEqual(drain + 30);
  });
});
