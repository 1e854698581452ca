// ringside in its two deployment roles, field-checked and then run as the
// cluster would run it: the ingress-nginx default backend (Helm values,
// deploy/helm/) and a benchmark target (ConfigMap, Deployment, Service and
// HorizontalPodAutoscaler, deploy/kubernetes/benchmark-target.yaml).
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OPTIONS } from "../../src/config/flags.ts";
import { rawExchange, readRepo, startServer, stopClean } from "../lib/helpers.ts";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);
const envOf = (list: unknown): Record<string, string> => Object.fromEntries(arr(list).map((e) => [String(e.name), String(e.value)]));
const ENV_NAMES = new Set(OPTIONS.flatMap((o) => (o.env ? [o.env] : [])));
const DOCKER_USER = /^USER (\d+)/m.exec(readRepo("Dockerfile"))![1]!;
const SECCOMP = { type: "Localhost", localhostProfile: "profiles/ringside.json" };

/** Runs ringside with a manifest's env, on loopback and a free port. */
const startWith = (env: Record<string, string>) => startServer([], { ...env, PORT: "0", HOST: "127.0.0.1", RINGSIDE_ADMIN_PORT: "0" });
const get10 = (path: string): string => `GET ${path} HTTP/1.0\r\n\r\n`;

describe("deploy/helm/ingress-nginx-values.yaml: the ingress-nginx default backend", () => {
  const values = obj(obj(Bun.YAML.parse(readRepo("deploy/helm/ingress-nginx-values.yaml"))).defaultBackend);
  const env = envOf(values.extraEnvs);
  const image = obj(values.image);

  test("enabled, the ringside image, non-root as the image's user, the seccomp profile that allows io_uring", () => {
    expect(values.enabled).toBe(true);
    expect(String(image.image)).toBe("ringside");
    expect(String(image.runAsUser)).toBe(DOCKER_USER);
    expect(image.runAsNonRoot).toBe(true);
    const pod = obj(values.podSecurityContext);
    expect(String(pod.runAsUser)).toBe(DOCKER_USER);
    expect(pod.seccompProfile).toEqual(SECCOMP);
  });

  test("the chart's port (its Service and its /healthz probes) is the one ringside listens on; every env var is a ringside option", () => {
    expect(Number(env.PORT)).toBe(Number(values.port));
    for (const name of Object.keys(env)) expect(ENV_NAMES.has(name), name).toBe(true);
    expect(env.RINGSIDE_PRESET).toBe("default-backend");
    const limits = obj(obj(values.resources).limits);
    expect(limits.cpu).toBeDefined();
    expect(limits.memory).toBeDefined();
  });

  test("run with that env: 404 on any path and 200 on /healthz, the chart's probe path, on one port", async () => {
    await using s = await startWith(env);
    for (const path of ["/", "/missing", "/healthz/x"]) {
      expect((await rawExchange(s.port, [get10(path)])).text).toStartWith("HTTP/1.0 404 Not Found\r\n");
    }
    const health = await rawExchange(s.port, [get10("/healthz")]);
    expect(health.text).toMatch(/^HTTP\/1\.0 200 OK\r\n[^]*\r\n\r\nok$/);
    await stopClean(s);
  });
});

describe("deploy/kubernetes/benchmark-target.yaml: a benchmark target with a Service and an HPA", () => {
  const documents = (Bun.YAML.parse(readRepo("deploy/kubernetes/benchmark-target.yaml")) as unknown[]).map(obj);
  const byKind = (kind: string): Obj => documents.find((d) => d.kind === kind)!;
  const deployment = byKind("Deployment");
  const pod = obj(obj(obj(deployment.spec).template).spec);
  const container = arr(pod.containers).find((c) => c.name === "ringside")!;
  const env = envOf(container.env);
  const configMap = obj(byKind("ConfigMap").data);

  test("a ConfigMap, a Deployment, a Service and a HorizontalPodAutoscaler that point at each other", () => {
    expect(documents.map((d) => d.kind).sort()).toEqual(["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Service"]);
    const labels = obj(obj(obj(obj(deployment.spec).template).metadata).labels);
    const service = obj(byKind("Service").spec);
    expect(labels).toMatchObject(obj(service.selector));
    const portNames = arr(container.ports).map((p) => p.name);
    for (const p of arr(service.ports)) expect(portNames).toContain(p.targetPort);
    const target = obj(obj(byKind("HorizontalPodAutoscaler").spec).scaleTargetRef);
    expect(target).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: obj(deployment.metadata).name });
    // Utilization is measured against requests: the HPA needs them.
    expect(obj(obj(container.resources).requests).cpu).toBeDefined();
    const volume = arr(pod.volumes).find((v) => obj(v.configMap).name === obj(byKind("ConfigMap").metadata).name);
    expect(volume).toBeDefined();
  });

  test("hardened like the sidecar: non-root as the image's user, read-only root, the seccomp profile", () => {
    expect(String(obj(pod.securityContext).runAsUser)).toBe(DOCKER_USER);
    const sc = obj(container.securityContext);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.seccompProfile).toEqual(SECCOMP);
    for (const name of Object.keys(env)) expect(ENV_NAMES.has(name), name).toBe(true);
  });

  test("run with its env and its ConfigMap's files: every route answers as written", async () => {
    const mount = String(arr(container.volumeMounts).find((m) => m.name === "routes")!.mountPath);
    const dir = mkdtempSync(join(tmpdir(), "ringside-target-"));
    for (const [name, text] of Object.entries(configMap)) writeFileSync(join(dir, name), String(text).replaceAll(mount, dir));
    await using s = await startWith({ ...env, RINGSIDE_ROUTES_FILE: String(env.RINGSIDE_ROUTES_FILE).replace(mount, dir) });
    const status = async (path: string) => /^HTTP\/1\.0 (\d+)/.exec((await rawExchange(s.port, [get10(path)])).text)?.[1];
    expect(await status("/healthz")).toBe("200");
    expect(await status("/status/503")).toBe("503");
    expect((await rawExchange(s.port, [get10("/page")])).text).toEndWith(String(configMap["page.html"]));
    const t0 = performance.now();
    expect(await status("/delay/100ms")).toBe("200");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(99);
    await stopClean(s);
  });
});
