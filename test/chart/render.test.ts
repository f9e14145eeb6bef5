// The chart rendered by the real helm: lint, Kubernetes schemas, least-privilege RBAC, hardened pods, values schema.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { generateCrdFiles } from "../../src-shared/crds/generate.js";
import { LEADER_LEASE_NAME } from "../../operator/main.js";
import { agentImageFrom, loadFacadeConfig } from "../../operator/facade/config.js";
import { AGENT_MODE, ALL_TOGGLES, chartDir, helm, renderChart, setArgs, type RenderedObject } from "./helm.js";
import { schemaErrors } from "./k8s-schemas.js";

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
interface Container {
  name: string;
  image?: string;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
}
interface PodTemplate {
  spec: {
    serviceAccountName: string;
    securityContext: Record<string, unknown> & { seccompProfile?: { type: string } };
    containers: Container[];
    volumes?: Array<{ name: string; secret?: unknown }>;
  };
}

const CASES: Record<string, Record<string, string | number | boolean>> = {
  defaults: {},
  "every toggle on": ALL_TOGGLES,
  "agent mode": AGENT_MODE,
  "agent mode with every toggle": { ...AGENT_MODE, "agent.daemonset.enabled": true },
};

const rendered = new Map<string, RenderedObject[]>();

function find(objects: RenderedObject[], kind: string, name: string): RenderedObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} not rendered`);
  return found;
}

function podTemplates(objects: RenderedObject[]): Array<{ owner: string; template: PodTemplate }> {
  return objects
    .filter((o) => o.kind === "Deployment" || o.kind === "DaemonSet")
    .map((o) => ({ owner: `${o.kind}/${o.metadata.name}`, template: (o.spec as { template: PodTemplate }).template }));
}

/** The agent token's Secret, key and the file it is mounted as. */
function agentTokenMount(deployment: RenderedObject): { secretName: string; key: string; file: string } {
  const spec = (deployment.spec as { template: { spec: Record<string, unknown> } }).template.spec as {
    volumes: Array<{ name: string; secret?: { secretName: string; items: Array<{ key: string; path: string }> } }>;
    containers: Array<{ volumeMounts: Array<{ name: string; mountPath: string }> }>;
  };
  const volume = spec.volumes.find((v) => v.secret)!;
  const mount = spec.containers[0]!.volumeMounts.find((m) => m.name === volume.name)!;
  const item = volume.secret!.items[0]!;
  return { secretName: volume.secret!.secretName, key: item.key, file: `${mount.mountPath}/${item.path}` };
}

function envOf(container: Container, name: string): NonNullable<Container["env"]>[number] | undefined {
  return container.env?.find((e) => e.name === name);
}

beforeAll(async () => {
  for (const [name, values] of Object.entries(CASES))
    rendered.set(name, await renderChart(values, { includeCrds: true }));
}, 60_000);

describe("helm lint --strict", () => {
  it.each(Object.entries(CASES))("is clean with %s", async (_name, values) => {
    const run = await helm(["lint", "--strict", chartDir, ...setArgs(values)]);
    expect(run.stderr + run.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(run.code).toBe(0);
  });
});

describe("rendered manifests", () => {
  it.each(Object.keys(CASES))("validate against the Kubernetes JSON schemas (%s)", async (name) => {
    const objects = rendered.get(name)!;
    expect(objects.length).toBeGreaterThan(5);
    expect(await schemaErrors(objects)).toEqual([]);
  });

  it("renders every component with every toggle on", () => {
    const kinds = new Set(rendered.get("every toggle on")!.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const expected of [
      "CustomResourceDefinition/nodetemplates.spotoptimizer.io",
      "Deployment/spot-optimizer-operator",
      "PodDisruptionBudget/spot-optimizer-operator",
      "Deployment/spot-optimizer-facade",
      "Service/spot-optimizer-facade",
      "Ingress/spot-optimizer-facade",
      "Deployment/spot-optimizer-agent",
      "DaemonSet/spot-optimizer-agent-spot-notices",
      "ServiceMonitor/spot-optimizer-facade",
      "Secret/spot-optimizer-agent-token",
      "Secret/spot-optimizer-facade-jwt-key",
      "ServiceAccount/spot-optimizer-operator",
      "ServiceAccount/spot-optimizer-facade",
      "ServiceAccount/spot-optimizer-agent",
    ])
      expect(kinds).toContain(expected);
  });

  it("serves the facade's /metrics on its own port behind a ClusterIP Service the Ingress never routes to", () => {
    const objects = rendered.get("every toggle on")!;
    const facade = (find(objects, "Deployment", "spot-optimizer-facade").spec as { template: PodTemplate }).template;
    const container = facade.spec.containers[0]! as Container & {
      ports: Array<{ name: string; containerPort: number }>;
    };
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    const metricsPort = container.ports.find((p) => p.name === "metrics")!.containerPort;
    expect(env.SPOTOPT_METRICS_PORT).toBe(String(metricsPort));
    expect(env.SPOTOPT_METRICS_HOST).toBe("0.0.0.0");
    const service = find(objects, "Service", "spot-optimizer-facade-metrics").spec as {
      type: string;
      ports: Array<{ name: string; targetPort: string }>;
    };
    expect(service.type).toBe("ClusterIP");
    expect(service.ports).toEqual([expect.objectContaining({ name: "metrics", targetPort: "metrics" })]);
    const api = find(objects, "Service", "spot-optimizer-facade").spec as { ports: Array<{ targetPort: string }> };
    expect(api.ports.map((p) => p.targetPort)).toEqual(["http"]);
    const monitor = find(objects, "ServiceMonitor", "spot-optimizer-facade").spec as {
      selector: { matchLabels: Record<string, string> };
      endpoints: Array<{ port: string; path: string }>;
    };
    expect(monitor.endpoints).toEqual([expect.objectContaining({ port: "metrics", path: "/metrics" })]);
    const metricsLabels = find(objects, "Service", "spot-optimizer-facade-metrics").metadata.labels ?? {};
    for (const [k, v] of Object.entries(monitor.selector.matchLabels)) expect(metricsLabels[k], k).toBe(v);
    expect(JSON.stringify(find(objects, "Ingress", "spot-optimizer-facade").spec)).not.toContain("metrics");
  });

  it("agent mode renders the agent only", () => {
    const objects = rendered.get("agent mode")!.filter((o) => o.kind !== "CustomResourceDefinition");
    const names = objects.map((o) => o.metadata.name);
    expect(names.some((n) => n.includes("operator") || n.includes("facade"))).toBe(false);
    const agent = (find(objects, "Deployment", "spot-optimizer-agent").spec as { template: PodTemplate }).template.spec
      .containers[0]!;
    expect(envOf(agent, "SPOTOPT_FACADE_URL")?.value).toBe(AGENT_MODE["agent.endpoint"]);
    expect(envOf(agent, "SPOTOPT_CLUSTER_ID")?.value).toBe(AGENT_MODE["agent.clusterId"]);
    const token = agentTokenMount(find(objects, "Deployment", "spot-optimizer-agent"));
    expect(token.file).toBe(envOf(agent, "SPOTOPT_AGENT_TOKEN_FILE")?.value);
    const secret = find(objects, "Secret", token.secretName) as RenderedObject & { data: Record<string, string> };
    expect(Buffer.from(secret.data[token.key]!, "base64").toString()).toBe(AGENT_MODE["agent.token"]);
  });

  it("the default install runs no agent until it has a token, and points a configured one at the facade", () => {
    expect(rendered.get("defaults")!.some((o) => o.metadata.name === "spot-optimizer-agent")).toBe(false);
    const agent = (
      find(rendered.get("every toggle on")!, "Deployment", "spot-optimizer-agent").spec as {
        template: PodTemplate;
      }
    ).template.spec.containers[0]!;
    expect(envOf(agent, "SPOTOPT_FACADE_URL")?.value).toBe("http://spot-optimizer-facade.spot-optimizer.svc:80");
  });

  it("runs two operator replicas with leader election in the release namespace and a PodDisruptionBudget", () => {
    const objects = rendered.get("defaults")!;
    const deployment = find(objects, "Deployment", "spot-optimizer-operator") as RenderedObject & {
      spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: PodTemplate };
    };
    expect(deployment.spec.replicas).toBe(2);
    const container = deployment.spec.template.spec.containers[0]!;
    expect(envOf(container, "POD_NAME")).toBeDefined();
    expect(envOf(container, "SPOTOPT_SYSTEM_NAMESPACE")?.value).toBe("spot-optimizer");
    const pdb = find(objects, "PodDisruptionBudget", "spot-optimizer-operator") as RenderedObject & {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    const leaderRole = find(objects, "Role", "spot-optimizer-operator-leader-election") as RenderedObject & {
      rules: PolicyRule[];
    };
    expect(leaderRole.metadata.namespace).toBe("spot-optimizer");
    expect(leaderRole.rules.flatMap((r) => r.resourceNames ?? [])).toContain(LEADER_LEASE_NAME);
  });

  it("makes no PodDisruptionBudget a single replica could never satisfy, and refuses one that allows no eviction", async () => {
    // one replica under minAvailable 1: every drain of its node (kubectl drain, Karpenter) would wait for ever
    const single = await renderChart({ "operator.replicas": 1, "facade.replicas": 1 });
    expect(single.filter((o) => o.kind === "PodDisruptionBudget")).toEqual([]);
    const three = await renderChart({ "operator.replicas": 3, "operator.podDisruptionBudget.minAvailable": 2 });
    expect((find(three, "PodDisruptionBudget", "spot-optimizer-operator") as any).spec.minAvailable).toBe(2);
    await expect(renderChart({ "facade.replicas": 2, "facade.podDisruptionBudget.minAvailable": 2 })).rejects.toThrow(
      "facade.podDisruptionBudget.minAvailable (2) must be below facade.replicas (2): a budget that allows no eviction blocks every node drain",
    );
    await expect(
      renderChart({ "facade.replicas": 2, "facade.podDisruptionBudget.minAvailable": "100%" }),
    ).rejects.toThrow("facade.podDisruptionBudget.minAvailable (100%) must be below facade.replicas (2)");
    // no budget rendered, nothing to refuse: the budget off, or no facade at all (agent mode)
    const off = await renderChart({
      "operator.replicas": 2,
      "operator.podDisruptionBudget.minAvailable": 2,
      "operator.podDisruptionBudget.enabled": false,
    });
    expect(off.filter((o) => o.kind === "PodDisruptionBudget").map((o) => o.metadata.name)).toEqual([
      "spot-optimizer-facade",
    ]);
    await expect(
      renderChart({ ...AGENT_MODE, "facade.replicas": 2, "facade.podDisruptionBudget.minAvailable": 2 }),
    ).resolves.toBeDefined();
  });

  it("caps the agent's heap at agent.maxHeapMiB, below its memory limit (a big cluster's report needs room)", async () => {
    const command = (objects: RenderedObject[], kind: string): string[] =>
      (objects.find((o) => o.kind === kind && o.metadata.name.includes("-agent")) as any).spec.template.spec
        .containers[0].command;
    const defaults = await renderChart({ "agent.token": "t", "agent.daemonset.enabled": true });
    expect(command(defaults, "Deployment")).toContain("--max-old-space-size=256");
    expect(command(defaults, "DaemonSet")).toContain("--max-old-space-size=64");
    const raised = await renderChart({ "agent.token": "t", "agent.maxHeapMiB": 700 });
    expect(command(raised, "Deployment")).toContain("--max-old-space-size=700");
    // `helm upgrade --reuse-values` from a release made before these values carries none of them
    const run = await helm([
      "template",
      "spot-optimizer",
      chartDir,
      ...setArgs({ "agent.token": "t", "agent.daemonset.enabled": true }),
      ...["agent.maxHeapMiB", "agent.daemonset.maxHeapMiB", "agent.daemonset.healthPort"].flatMap((k) => [
        "--set",
        `${k}=null`,
      ]),
    ]);
    expect(run.code, run.stderr).toBe(0);
    const reused = yaml.loadAll(run.stdout).filter((d): d is RenderedObject => d !== null && typeof d === "object");
    expect(command(reused, "Deployment")).toContain("--max-old-space-size=256");
    expect(command(reused, "DaemonSet")).toContain("--max-old-space-size=64");
  });

  it("keeps every Service name a DNS label (63 characters) under a long release name", async () => {
    const objects = await renderChart({}, { releaseName: "spot-optimizer-production-eu-west-1-management-x1" });
    const services = objects.filter((o) => o.kind === "Service").map((o) => o.metadata.name);
    expect(services).toHaveLength(2);
    for (const name of services) expect(name.length, name).toBeLessThanOrEqual(63);
  });

  it("takes a local cluster name with dots, as ManagedCluster names and agent.clusterId do", async () => {
    const objects = await renderChart({ "localCluster.name": "prod.eu-1", "localCluster.namespace": "org-a" });
    expect(JSON.stringify(find(objects, "ConfigMap", "spot-optimizer-local-cluster"))).toContain("prod.eu-1");
  });

  it("runs the Spot-notice DaemonSet on the node's network with no token and a role that may only get and patch Nodes", async () => {
    const objects = await renderChart({ "agent.token": "t", "agent.daemonset.enabled": true });
    const ds = find(objects, "DaemonSet", "spot-optimizer-agent-spot-notices") as any;
    const pod = ds.spec.template.spec;
    expect(pod).toMatchObject({
      hostNetwork: true,
      dnsPolicy: "ClusterFirstWithHostNet",
      priorityClassName: "system-node-critical",
      serviceAccountName: "spot-optimizer-agent-spot-notices",
    });
    const container = pod.containers[0];
    expect(envOf(container, "SPOTOPT_AGENT_MODE")?.value).toBe("daemonset");
    expect(envOf(container, "SPOTOPT_AGENT_TOKEN_FILE")).toBeUndefined();
    expect(JSON.stringify(pod.volumes)).not.toContain("agent-token");
    expect(container.ports).toEqual([{ name: "health", containerPort: 8091, protocol: "TCP" }]);
    const role = find(objects, "ClusterRole", "spot-optimizer-agent-spot-notices") as RenderedObject & {
      rules: PolicyRule[];
    };
    expect(role.rules).toEqual([{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "patch"] }]);
    // the Deployment's agent keeps its token
    const deployment = find(objects, "Deployment", "spot-optimizer-agent") as any;
    expect(envOf(deployment.spec.template.spec.containers[0], "SPOTOPT_AGENT_TOKEN_FILE")).toBeDefined();
  });

  it("puts IRSA annotations on the operator's ServiceAccount", () => {
    const sa = find(rendered.get("every toggle on")!, "ServiceAccount", "spot-optimizer-operator");
    expect(sa.metadata.annotations?.["eks.amazonaws.com/role-arn"]).toBe(
      ALL_TOGGLES["operator.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn"],
    );
  });
});

describe("RBAC", () => {
  const roles = (objects: RenderedObject[]): Array<RenderedObject & { rules: PolicyRule[] }> =>
    objects.filter((o) => o.kind === "Role" || o.kind === "ClusterRole") as Array<
      RenderedObject & { rules: PolicyRule[] }
    >;

  it.each(Object.keys(CASES))("has no wildcard and no non-resource URL (%s)", (name) => {
    const all = roles(rendered.get(name)!);
    expect(all.length).toBeGreaterThan(0);
    for (const role of all) {
      for (const rule of role.rules) {
        const fields = [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs];
        expect(
          fields.filter((f) => f.includes("*")),
          `${role.kind}/${role.metadata.name}`,
        ).toEqual([]);
        expect(rule.nonResourceURLs).toBeUndefined();
        expect(rule.verbs.length).toBeGreaterThan(0);
      }
    }
  });

  it("says above every rule which code path needs it", () => {
    const files = readdirSync(join(chartDir, "templates")).filter((f) => f.endsWith("rbac.yaml"));
    expect(files.length).toBe(3);
    files.push("migrate-hook.yaml");
    for (const file of files) {
      const lines = readFileSync(join(chartDir, "templates", file), "utf8").split("\n");
      lines.forEach((line, i) => {
        if (/^\s*- apiGroups:/.test(line)) expect(lines[i - 1]!.trim(), `${file}:${i + 1}`).toMatch(/^#/);
      });
    }
  });

  /** `resource:verb` of every rule of a role, with `@name` appended for rules limited to named objects. */
  const grantsOf = (role: { rules: PolicyRule[] }): string[] =>
    role.rules.flatMap((r) =>
      (r.resources ?? []).flatMap((res) =>
        r.verbs.map((v) => `${res}:${v}${r.resourceNames ? `@${r.resourceNames.join(",")}` : ""}`),
      ),
    );
  const isHook = (o: RenderedObject): boolean => o.metadata.annotations?.["helm.sh/hook"] !== undefined;

  it.each(Object.keys(CASES))("grants no lasting ClusterRole any verb on Secrets (%s)", (name) => {
    for (const role of roles(rendered.get(name)!).filter((r) => r.kind === "ClusterRole" && !isHook(r)))
      expect(
        grantsOf(role).filter((g) => g.startsWith("secrets:")),
        role.metadata.name,
      ).toEqual([]);
  });

  it("grants the facade cluster-wide no Lease and no ConfigMap read or write beyond the audit head, Secrets only in its namespace", () => {
    const all = roles(rendered.get("defaults")!);
    const cluster = all.find((r) => r.kind === "ClusterRole" && r.metadata.name === "spot-optimizer-facade")!;
    const grants = grantsOf(cluster);
    expect(grants.filter((g) => g.startsWith("leases:"))).toEqual([]);
    expect(grants.filter((g) => /^configmaps:(patch|update|delete)/.test(g))).toEqual([
      "configmaps:update@spot-optimizer-audit-head",
    ]);
    // Reading every ConfigMap of the cluster is not needed: the audit heads are read by name.
    expect(grants.filter((g) => /^configmaps:(list|watch|get)$/.test(g))).toEqual([]);
    const role = all.find((r) => r.kind === "Role" && r.metadata.name === "spot-optimizer-facade")!;
    expect(role.metadata.namespace).toBe("spot-optimizer");
    for (const needed of ["secrets:list", "secrets:watch", "secrets:patch", "configmaps:patch", "leases:patch"])
      expect(grantsOf(role)).toContain(needed);
  });

  it("watches ConfigMaps and Leases for the operator in its namespace only", () => {
    const all = roles(rendered.get("defaults")!);
    const cluster = all.find((r) => r.kind === "ClusterRole" && r.metadata.name === "spot-optimizer-operator")!;
    expect(grantsOf(cluster).filter((g) => /^(configmaps:(list|watch)|leases:)/.test(g))).toEqual([]);
    const role = all.find((r) => r.kind === "Role" && r.metadata.name === "spot-optimizer-operator-leader-election")!;
    for (const needed of ["configmaps:list", "configmaps:watch", "leases:list", "leases:watch"])
      expect(grantsOf(role)).toContain(needed);
  });

  it("migrates agent tokens before an upgrade with permissions helm deletes afterwards", () => {
    const hooks = rendered.get("defaults")!.filter(isHook);
    expect(hooks.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      "ClusterRole/spot-optimizer-migrate",
      "ClusterRoleBinding/spot-optimizer-migrate",
      "Job/spot-optimizer-migrate",
      "Role/spot-optimizer-migrate",
      "RoleBinding/spot-optimizer-migrate",
      "ServiceAccount/spot-optimizer-migrate",
    ]);
    for (const hook of hooks) {
      expect(hook.metadata.annotations?.["helm.sh/hook"], hook.kind).toBe("pre-upgrade");
      expect(hook.metadata.annotations?.["helm.sh/hook-delete-policy"], hook.kind).toContain("hook-succeeded");
      // The grants go even when the hook fails; only the failed Job stays, for its logs.
      if (hook.kind !== "Job")
        expect(hook.metadata.annotations?.["helm.sh/hook-delete-policy"], hook.kind).toContain("hook-failed");
    }
    const job = hooks.find((o) => o.kind === "Job")!;
    const pod = (job.spec as { template: PodTemplate }).template.spec;
    expect(pod.serviceAccountName).toBe("spot-optimizer-migrate");
    expect((pod.containers[0] as Container & { args: string[] }).args).toEqual([
      "spotctl",
      "migrate",
      "agent-objects",
      "--release-namespace",
      "spot-optimizer",
    ]);
    // Agent mode has no facade and nothing to migrate.
    expect(rendered.get("agent mode")!.filter(isHook)).toEqual([]);
  });

  it("lets the agent evict, patch nodes and scale, and nothing more dangerous", () => {
    const agent = roles(rendered.get("agent mode")!).find((r) => r.metadata.name === "spot-optimizer-agent")!;
    const grants = new Set(
      agent.rules.flatMap((r) => (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${res}:${v}`))),
    );
    // The executors evict (drain), delete only pods a forced drain leaves, patch nodes and merge-patch replicas.
    for (const needed of [
      "pods/eviction:create",
      "pods:delete",
      "nodes:patch",
      "deployments:patch",
      "statefulsets:patch",
      "cronjobs:patch",
      "nodepools:patch",
      "nodeclaims:delete",
      // A remote cluster's NodeTemplates: server-side apply creates and patches, finalization deletes.
      "nodepools:create",
      "nodepools:delete",
      "ec2nodeclasses:create",
      "ec2nodeclasses:patch",
      "ec2nodeclasses:delete",
      // Heartbeats report our EC2NodeClasses (generation), so edits made by hand are noticed.
      "ec2nodeclasses:list",
      // Remote exclusions annotate the pods of excluded namespaces.
      "pods:list",
      "pods:patch",
    ])
      expect(grants).toContain(needed);
    for (const forbidden of [
      "pods:create",
      "nodes:create",
      "deployments:create",
      "deployments:delete",
      "deployments/scale:update",
      "secrets:get",
      "secrets:list",
      "configmaps:get",
      "namespaces:delete",
    ])
      expect(grants).not.toContain(forbidden);
  });

  it("lets the operator write Karpenter objects and our CRDs' status", () => {
    const operator = roles(rendered.get("defaults")!).find((r) => r.metadata.name === "spot-optimizer-operator")!;
    const grants = new Set(
      operator.rules.flatMap((r) =>
        (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${r.apiGroups?.[0] ?? ""}/${res}:${v}`)),
      ),
    );
    for (const needed of [
      "karpenter.sh/nodepools:patch",
      "karpenter.sh/nodepools:create",
      "karpenter.k8s.aws/ec2nodeclasses:patch",
      "spotoptimizer.io/managedclusters/status:patch",
      "spotoptimizer.io/hibernationschedules/status:patch",
    ])
      expect(grants).toContain(needed);
    expect([...grants].filter((g) => g.startsWith("/secrets"))).toEqual([]);
  });
});

describe("pods", () => {
  it.each(Object.keys(CASES))("are hardened, bounded and probed (%s)", (name) => {
    const pods = podTemplates(rendered.get(name)!);
    expect(pods.length).toBeGreaterThan(0);
    for (const { owner, template } of pods) {
      const pod = template.spec;
      expect(pod.securityContext.runAsNonRoot, owner).toBe(true);
      expect(pod.securityContext.seccompProfile?.type, owner).toBe("RuntimeDefault");
      for (const c of pod.containers) {
        const sc = c.securityContext!;
        expect(sc.allowPrivilegeEscalation, owner).toBe(false);
        expect(sc.readOnlyRootFilesystem, owner).toBe(true);
        expect(sc.runAsNonRoot, owner).toBe(true);
        expect(sc.capabilities?.drop, owner).toEqual(["ALL"]);
        expect(sc.capabilities?.add, owner).toBeUndefined();
        expect((sc.seccompProfile as { type: string }).type, owner).toBe("RuntimeDefault");
        for (const kind of ["requests", "limits"] as const)
          expect(Object.keys(c.resources?.[kind] ?? {}).sort(), `${owner} ${kind}`).toEqual(["cpu", "memory"]);
        expect(c.livenessProbe?.httpGet?.path, owner).toBe("/healthz");
        expect(c.readinessProbe?.httpGet?.path, owner).toBe("/readyz");
      }
    }
  });
});

describe("values.schema.json", () => {
  const bad: Array<[string, Record<string, string | number | boolean>, RegExp]> = [
    ["a string replica count", { "operator.replicas": "two" }, /operator\/replicas/],
    ["an unknown mode", { mode: "both" }, /mode/],
    ["an unknown pull policy", { "image.pullPolicy": "Sometimes" }, /pullPolicy/],
    ["a misspelt key", { "operator.replica": 2 }, /replica/],
    ["a port out of range", { "facade.service.port": 70000 }, /port/],
    ["an invalid cluster id", { "agent.clusterId": "Prod_1" }, /clusterId/],
    ["a CPU quantity that is not one", { "operator.resources.requests.cpu": "lots" }, /cpu/],
    ["a boolean toggle given a string", { "metrics.serviceMonitor.enabled": "yes" }, /enabled/],
    ["agent mode without a token", { mode: "agent", "agent.endpoint": "https://x.example.com" }, /token/],
    ["agent mode without an endpoint", { mode: "agent", "agent.token": "t" }, /endpoint/],
  ];
  it.each(bad)("rejects %s", async (_what, values, message) => {
    const run = await helm(["template", "spot-optimizer", chartDir, ...setArgs(values)]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
  });
});

describe("helm_command's chart", () => {
  it("facade.agentChart becomes the facade's SPOTOPT_AGENT_CHART; unset, the facade keeps its default", async () => {
    const facadeOf = (objects: RenderedObject[]): Container =>
      (find(objects, "Deployment", "spot-optimizer-facade").spec as { template: PodTemplate }).template.spec
        .containers[0]!;
    const ref = "oci://registry.example.com/charts/spot-optimizer";
    expect(envOf(facadeOf(await renderChart({ "facade.agentChart": ref })), "SPOTOPT_AGENT_CHART")?.value).toBe(ref);
    expect(envOf(facadeOf(rendered.get("defaults")!), "SPOTOPT_AGENT_CHART")).toBeUndefined();
    // A reference with a space would split the pasted command: the schema refuses it.
    await expect(renderChart({ "facade.agentChart": "a b" })).rejects.toThrow(/agentChart/);
  });

  it("the facade's SPOTOPT_AGENT_IMAGE is the chart's own image (tag or digest), which the facade reads back", async () => {
    const facadeOf = (objects: RenderedObject[]): Container =>
      (find(objects, "Deployment", "spot-optimizer-facade").spec as { template: PodTemplate }).template.spec
        .containers[0]!;
    const tagged = facadeOf(await renderChart({ "image.repository": "registry.example/so", "image.tag": "2.0.1" }));
    expect(envOf(tagged, "SPOTOPT_AGENT_IMAGE")?.value).toBe("registry.example/so:2.0.1");
    expect(tagged.image).toBe("registry.example/so:2.0.1");
    const digest = `sha256:${"ab".repeat(32)}`;
    const pinned = facadeOf(await renderChart({ "image.repository": "registry.example/so", "image.digest": digest }));
    const value = envOf(pinned, "SPOTOPT_AGENT_IMAGE")!.value!;
    expect(agentImageFrom(value)).toEqual({ agentImage: { repository: "registry.example/so", digest } });
    expect(agentImageFrom(envOf(facadeOf(rendered.get("defaults")!), "SPOTOPT_AGENT_IMAGE")!.value)).toMatchObject({
      agentImage: { repository: "ghcr.io/spot-optimizer/spot-optimizer" },
    });
  });
});

describe("Secrets", () => {
  it("uses existing Secrets instead of making them", async () => {
    const objects = await renderChart({
      ...AGENT_MODE,
      "agent.token": "",
      "agent.existingTokenSecret.name": "my-agent-token",
      "agent.existingTokenSecret.key": "value",
    });
    expect(objects.filter((o) => o.kind === "Secret")).toEqual([]);
    const agent = (find(objects, "Deployment", "spot-optimizer-agent").spec as { template: PodTemplate }).template.spec
      .containers[0]!;
    // The token is the existing Secret's key, mounted as the file SPOTOPT_AGENT_TOKEN_FILE names.
    const pod = (find(objects, "Deployment", "spot-optimizer-agent").spec as { template: PodTemplate }).template.spec;
    const volume = pod.volumes?.find((v) => v.name === "agent-token");
    expect(volume?.secret).toEqual({ secretName: "my-agent-token", items: [{ key: "value", path: "agent-token" }] });
    expect(envOf(agent, "SPOTOPT_AGENT_TOKEN_FILE")?.value).toBe("/var/run/secrets/spot-optimizer/agent-token");

    const full = await renderChart({ "facade.jwtKey.existingSecret": "my-jwt-key" });
    expect(full.filter((o) => o.kind === "Secret")).toEqual([]);
    const facade = (find(full, "Deployment", "spot-optimizer-facade").spec as { template: PodTemplate }).template.spec
      .containers[0]!;
    expect(envOf(facade, "SPOTOPT_JWT_KEY_SECRET")?.value).toBe("my-jwt-key");
  });

  it("makes a JWT key the facade reads (data key `key`, its auth-type label)", () => {
    const objects = rendered.get("defaults")!;
    const secret = find(objects, "Secret", "spot-optimizer-facade-jwt-key") as RenderedObject & {
      data: Record<string, string>;
    };
    expect(Buffer.from(secret.data.key!, "base64").length).toBeGreaterThanOrEqual(32);
    expect(secret.metadata.labels?.["spotoptimizer.io/auth-type"]).toBe("signing-key");
    const facade = (find(objects, "Deployment", "spot-optimizer-facade").spec as { template: PodTemplate }).template
      .spec.containers[0]!;
    expect(envOf(facade, "SPOTOPT_JWT_KEY_SECRET")?.value).toBe(secret.metadata.name);
  });
});

describe("chart CRDs", () => {
  it("are the generated ones (run `npm run gen` and commit charts/spot-optimizer/crds if this fails)", () => {
    const expected = generateCrdFiles();
    const dir = join(chartDir, "crds");
    expect(readdirSync(dir).sort()).toEqual([...expected.keys()].sort());
    for (const [name, content] of expected) expect(readFileSync(join(dir, name), "utf8"), name).toBe(content);
  });
});

describe("plan node limits", () => {
  it("facade.planNodeLimits becomes a SPOTOPT_PLAN_NODE_LIMITS the facade reads back; bad limits are refused", async () => {
    const facadeOf = (objects: RenderedObject[]): Container =>
      (find(objects, "Deployment", "spot-optimizer-facade").spec as { template: PodTemplate }).template.spec
        .containers[0]!;
    const env = envOf(
      facadeOf(await renderChart({ "facade.planNodeLimits.pro": 50, "facade.planNodeLimits.free": 5 })),
      "SPOTOPT_PLAN_NODE_LIMITS",
    );
    expect(env?.value).toBe("free=5,pro=50");
    expect(loadFacadeConfig({ SPOTOPT_PLAN_NODE_LIMITS: env?.value }).planNodeLimits).toEqual({ free: 5, pro: 50 });
    expect(envOf(facadeOf(rendered.get("defaults")!), "SPOTOPT_PLAN_NODE_LIMITS")).toBeUndefined();
    await expect(renderChart({ "facade.planNodeLimits.pro": -1 })).rejects.toThrow(/planNodeLimits/);
    await expect(renderChart({ "facade.planNodeLimits.Pro": 5 })).rejects.toThrow(/'Pro' does not match pattern/);
  });
});
