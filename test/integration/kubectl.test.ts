// The real kubectl 1.33 against the local API server: CRDs, apply, get (printer columns), describe, explain, SSA, delete.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubernetesObjectApi } from "@kubernetes/client-node";
import { load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { karpenterCrdFile, projectCrdDir, startTestCluster } from "../support/cluster.js";
import { minimalEC2NodeClass, minimalNodePool } from "../support/karpenter-fixtures.js";
import { toolPath } from "../support/tools.js";

interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

let server: LocalApiServer;
let workDir: string;
let objects: KubernetesObjectApi;

function kubectl(args: string[], stdin?: string): Promise<KubectlResult> {
  return new Promise((done) => {
    const child = execFile(
      toolPath("kubectl"),
      ["--kubeconfig", join(workDir, "kubeconfig"), "--cache-dir", join(workDir, "cache"), ...args],
      { env: { PATH: process.env.PATH ?? "", HOME: workDir }, timeout: 30_000 },
      (err, stdout, stderr) => done({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

function writeManifest(name: string, body: string): string {
  const path = join(workDir, name);
  writeFileSync(path, body);
  return path;
}

const nodeTemplate = (strategy: string, extra = ""): string => `apiVersion: spotoptimizer.io/v1alpha1
kind: NodeTemplate
metadata:
  name: general
  namespace: acme
spec:
  clusterRef:
    name: prod
  families: [m5, c5]
  strategy: ${strategy}${extra}
`;

const NODE_TEMPLATE = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" } as const;

/** A `kind: List` of two NodeTemplates; `extra` is appended to the first one's spec. */
const templateList = (strategy: string, extra = ""): string => `apiVersion: v1
kind: List
items:
  - apiVersion: spotoptimizer.io/v1alpha1
    kind: NodeTemplate
    metadata:
      name: list-a
      namespace: acme
    spec:
      clusterRef:
        name: prod
      families: [m5]
      strategy: ${strategy}${extra}
  - apiVersion: spotoptimizer.io/v1alpha1
    kind: NodeTemplate
    metadata:
      name: list-b
      namespace: acme
    spec:
      clusterRef:
        name: prod
      families: [c5]
      strategy: ${strategy}
`;

/** A List of built-ins using fields (a probe, a rollout strategy) that the local server's compact schemas leave out. */
const builtinList = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: listed
      namespace: acme
    data:
      a: "1"
  - apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: probed
      namespace: acme
    spec:
      strategy:
        type: Recreate
      selector:
        matchLabels: { app: probed }
      template:
        metadata:
          labels: { app: probed }
        spec:
          containers:
            - name: app
              image: busybox
              livenessProbe:
                exec:
                  command: ["true"]
`;

const crd = load(readFileSync(join(projectCrdDir, "nodetemplates.spotoptimizer.io.yaml"), "utf8")) as any;
const crdVersion = crd.spec.versions[0];

async function readNodeTemplate(): Promise<any> {
  return objects.read({
    apiVersion: "spotoptimizer.io/v1alpha1",
    kind: "NodeTemplate",
    metadata: { name: "general", namespace: "acme" },
  });
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "spotopt-kubectl-"));
  server = await startTestCluster();
  writeFileSync(join(workDir, "kubeconfig"), server.kubeconfigYaml);
  objects = KubernetesObjectApi.makeApiClient(server.kubeConfig);
  // `kubectl create namespace` would send protobuf; apply sends JSON.
  const ns = await kubectl(["apply", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: acme\n");
  expect(ns.stderr).toBe("");
});

afterAll(async () => {
  await server?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe("kubectl against the local API server", () => {
  it("applies our CRDs from crds/", async () => {
    const out = await kubectl(["apply", "-f", projectCrdDir]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(
      "customresourcedefinition.apiextensions.k8s.io/nodetemplates.spotoptimizer.io created",
    );
    const wait = await kubectl([
      "wait",
      "--for=condition=Established",
      "crd/nodetemplates.spotoptimizer.io",
      "--timeout=20s",
    ]);
    expect(wait.code).toBe(0);
  });

  it("applies a NodeTemplate (client-side) and the server holds it with defaults", async () => {
    const out = await kubectl(["apply", "-f", writeManifest("nt.yaml", nodeTemplate("SPOT"))]);
    expect(out.stderr).toBe("");
    expect(out.stdout.trim()).toBe("nodetemplate.spotoptimizer.io/general created");
    const stored = await readNodeTemplate();
    expect(stored.spec.strategy).toBe("SPOT");
    expect(stored.spec.families).toEqual(["m5", "c5"]);
    expect(stored.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]).toContain(
      '"strategy":"SPOT"',
    );
  });

  it("lists NodeTemplates with the CRD's printer columns", async () => {
    const out = await kubectl(["get", "nodetemplates", "-n", "acme"]);
    expect(out.code).toBe(0);
    const [header, row] = out.stdout.trim().split("\n");
    const expectedColumns = [
      "NAME",
      ...crdVersion.additionalPrinterColumns.map((c: { name: string }) => c.name.toUpperCase()),
    ];
    expect(header!.split(/\s{2,}/)).toEqual(expectedColumns);
    expect(row).toMatch(/^general\s+prod\s+SPOT\s+\["m5","c5"\]\s+/);
  });

  it("shows a HibernationSchedule's next transition hours away as its time, not as an age", async () => {
    const manifest = `apiVersion: spotoptimizer.io/v1alpha1
kind: HibernationSchedule
metadata: { name: office-hours, namespace: acme }
spec:
  clusterRef: { name: prod }
  timezone: Europe/Berlin
  weekly:
    - { days: [Mon, Tue, Wed, Thu, Fri], start: "08:00", end: "19:00" }
`;
    expect((await kubectl(["apply", "-f", writeManifest("hs.yaml", manifest)])).code).toBe(0);
    const next = new Date(Date.now() + 5 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const status = JSON.stringify({ status: { state: "awake", nextTransition: next } });
    const patched = await kubectl([
      "patch",
      "hibernationschedule",
      "office-hours",
      "-n",
      "acme",
      "--subresource=status",
      "--type=merge",
      "-p",
      status,
    ]);
    expect(patched.stderr).toBe("");
    const out = await kubectl(["get", "hibernationschedules", "-n", "acme"]);
    expect(out.code).toBe(0);
    const [header, row] = out.stdout.trim().split("\n");
    expect(header).toMatch(/NEXT/);
    expect(row).toContain(next);
  });

  it("describes a NodeTemplate", async () => {
    const out = await kubectl(["describe", "nodetemplate", "general", "-n", "acme"]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^Name:\s+general$/m);
    expect(out.stdout).toMatch(/^Namespace:\s+acme$/m);
    expect(out.stdout).toMatch(/^Kind:\s+NodeTemplate$/m);
    expect(out.stdout).toMatch(/Strategy:\s+SPOT/);
  });

  it("explains nodetemplate.spec from the CRD schema", async () => {
    const out = await kubectl(["explain", "nodetemplate.spec"]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^GROUP:\s+spotoptimizer\.io$/m);
    expect(out.stdout).toMatch(/^KIND:\s+NodeTemplate$/m);
    expect(out.stdout).toMatch(/^VERSION:\s+v1alpha1$/m);
    expect(out.stdout).toContain(crdVersion.schema.openAPIV3Schema.properties.spec.description);
    for (const field of Object.keys(crdVersion.schema.openAPIV3Schema.properties.spec.properties)) {
      expect(out.stdout).toMatch(new RegExp(`^  ${field}\\s`, "m"));
    }
  });

  it("rejects an unknown field under kubectl's default strict validation", async () => {
    const out = await kubectl(["apply", "-f", writeManifest("bogus.yaml", nodeTemplate("SPOT", "\n  bogus: 1"))]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('strict decoding error: unknown field "spec.bogus"');
  });

  it("applies a v1 List of NodeTemplates under kubectl's default validation (no --validate=false)", async () => {
    // kubectl checks a List's items itself against /openapi/v2, which it reads in protobuf only.
    const out = await kubectl(["apply", "-f", writeManifest("list.yaml", templateList("ON_DEMAND"))]);
    expect(out.stderr).toBe("");
    expect(out.stdout.trim().split("\n")).toEqual([
      "nodetemplate.spotoptimizer.io/list-a created",
      "nodetemplate.spotoptimizer.io/list-b created",
    ]);
    for (const name of ["list-a", "list-b"]) {
      const stored: any = await objects.read({ ...NODE_TEMPLATE, metadata: { name, namespace: "acme" } });
      expect(stored.spec).toMatchObject({ clusterRef: { name: "prod" }, strategy: "ON_DEMAND" });
    }
  });

  it("refuses a List item's unknown field before writing anything, with kubectl's client-side message", async () => {
    const out = await kubectl([
      "apply",
      "-f",
      writeManifest("list-bogus.yaml", templateList("SPOT", "\n      bogus: 1")),
    ]);
    expect(out.code).not.toBe(0);
    expect(out.stderr.trim()).toBe(
      `error: error validating "${join(workDir, "list-bogus.yaml")}": error validating data: ValidationError(NodeTemplate.spec): unknown field "bogus" in io.spotoptimizer.v1alpha1.NodeTemplate.spec; if you choose to ignore these errors, turn validation off with --validate=false`,
    );
    for (const name of ["list-a", "list-b"]) {
      const stored: any = await objects.read({ ...NODE_TEMPLATE, metadata: { name, namespace: "acme" } });
      expect(stored.spec.strategy).toBe("ON_DEMAND");
    }
  });

  it("applies a List of built-ins whose fields our compact schemas do not describe", async () => {
    const out = await kubectl(["apply", "-f", writeManifest("list-builtins.yaml", builtinList)]);
    expect(out.stderr).toBe("");
    expect(out.stdout.trim().split("\n")).toEqual(["configmap/listed created", "deployment.apps/probed created"]);
    const stored: any = await objects.read({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "probed", namespace: "acme" },
    });
    expect(stored.spec.template.spec.containers[0].livenessProbe).toEqual({ exec: { command: ["true"] } });
  });

  it("rejects an invalid enum value with the field path", async () => {
    const out = await kubectl(["apply", "-f", writeManifest("bad.yaml", nodeTemplate("CHEAP"))]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('spec.strategy: Unsupported value: "CHEAP"');
    expect((await readNodeTemplate()).spec.strategy).toBe("SPOT");
  });

  it("applies server-side: the field manager owns the fields and a conflict needs --force-conflicts", async () => {
    const manifest = writeManifest("nt-ssa.yaml", nodeTemplate("HYBRID"));
    const conflict = await kubectl(["apply", "--server-side", "--field-manager", "ops", "-f", manifest]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('conflict with "kubectl-client-side-apply"');
    expect(conflict.stderr).toContain(".spec.strategy");

    const forced = await kubectl([
      "apply",
      "--server-side",
      "--field-manager",
      "ops",
      "--force-conflicts",
      "-f",
      manifest,
    ]);
    expect(forced.stderr).toBe("");
    expect(forced.stdout.trim()).toBe("nodetemplate.spotoptimizer.io/general serverside-applied");
    const stored = await readNodeTemplate();
    expect(stored.spec.strategy).toBe("HYBRID");
    const ops = stored.metadata.managedFields.find((m: any) => m.manager === "ops");
    expect(ops.operation).toBe("Apply");
    expect(ops.fieldsV1["f:spec"]["f:strategy"]).toEqual({});
  });

  it("refuses a strategic merge patch of a custom resource with 415, like kube-apiserver", async () => {
    const out = await kubectl([
      "patch",
      "nodetemplate",
      "general",
      "-n",
      "acme",
      "--type",
      "strategic",
      "-p",
      '{"spec":{"diskSize":30}}',
    ]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain(
      "error: application/strategic-merge-patch+json is not supported by spotoptimizer.io/v1alpha1, Kind=NodeTemplate: the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    );
    const merged = await kubectl([
      "patch",
      "nodetemplate",
      "general",
      "-n",
      "acme",
      "--type",
      "merge",
      "-p",
      '{"spec":{"diskSize":30}}',
    ]);
    expect(merged.stderr).toBe("");
    expect((await readNodeTemplate()).spec.diskSize).toBe(30);
  });

  it("lists an OptimizationPolicy that omits karpenter and binpack with the settings in force, not empty columns", async () => {
    const manifest = `apiVersion: spotoptimizer.io/v1alpha1
kind: OptimizationPolicy
metadata: { name: bare, namespace: acme }
spec:
  clusterRef: { name: prod }
`;
    expect((await kubectl(["apply", "-f", writeManifest("op.yaml", manifest)])).code).toBe(0);
    const out = await kubectl(["get", "op", "bare", "-n", "acme"]);
    expect(out.code).toBe(0);
    const [header, row] = out.stdout.trim().split("\n");
    expect(header!.split(/\s{2,}/)).toEqual(["NAME", "CLUSTER", "STRATEGY", "BINPACK", "KARPENTER", "STATUS", "AGE"]);
    expect(row!.split(/\s+/).slice(0, 5)).toEqual(["bare", "prod", "price-capacity-optimized", "50", "true"]);
  });

  it("refuses an OptimizationPolicy that excludes a namespace twice", async () => {
    const manifest = `apiVersion: spotoptimizer.io/v1alpha1
kind: OptimizationPolicy
metadata: { name: twice, namespace: acme }
spec:
  clusterRef: { name: prod }
  exclusions: { namespaces: [payments, payments] }
`;
    const out = await kubectl(["apply", "-f", writeManifest("op-twice.yaml", manifest)]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('spec.exclusions.namespaces[1]: Duplicate value: "payments"');
  });

  it.each([
    {
      what: "two arms of one name",
      spec: "mode: parallel\n  arms: [{ name: a, target: i-1, model: m1 }, { name: a, target: i-2, model: m2 }]",
      error: 'spec.arms[1]: Duplicate value: map[string]interface {}{"name":"a"}',
    },
    {
      what: "a parallel experiment of one arm",
      spec: "mode: parallel\n  arms: [{ name: a, target: i-1, model: m1 }]",
      error: "mode parallel needs at least two arms",
    },
    {
      what: "a live switch of two arms",
      spec: "mode: live-switch\n  arms: [{ name: a, target: i-1, model: m1 }, { name: b, target: i-2, model: m2 }]",
      error: "mode live-switch takes exactly one arm",
    },
    {
      what: "a duration of a few nanoseconds",
      spec: "mode: live-switch\n  arms: [{ name: a, target: i-1, model: m1 }]\n  durationHours: 1e-9",
      // Not the value: kube-apiserver prints it as Go does (1e-09).
      error: "spec.durationHours in body should be greater than or equal to 1",
    },
  ])("refuses a LabExperiment with $what", async ({ spec, error }) => {
    const manifest = `apiVersion: spotoptimizer.io/v1alpha1
kind: LabExperiment
metadata: { name: inconsistent, namespace: acme }
spec:
  ${spec}
`;
    const out = await kubectl(["apply", "-f", writeManifest("lab.yaml", manifest)]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain(error);
    expect((await kubectl(["get", "labexperiments", "-n", "acme", "-o", "name"])).stdout).toBe("");
  });

  it("deletes the NodeTemplate", async () => {
    const out = await kubectl(["delete", "nodetemplate", "general", "-n", "acme"]);
    expect(out.stdout.trim()).toBe('nodetemplate.spotoptimizer.io "general" deleted');
    await expect(readNodeTemplate()).rejects.toMatchObject({ code: 404 });
  });
});

describe("kubectl on built-in kinds (strategic merge patches)", () => {
  const deployment = (containers: string): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: acme
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      securityContext: {runAsUser: 1000}
      containers:
${containers}`;
  const container = (name: string, image: string, env = ""): string => `        - name: ${name}
          image: ${image}
${env}`;

  it("re-applies a Deployment client-side: kubectl's strategic merge patch removes and updates containers by name", async () => {
    const env = "          env:\n            - {name: A, value: '1'}\n            - {name: B, value: '2'}\n";
    const first = await kubectl(
      ["apply", "-f", "-"],
      deployment(container("app", "app:1", env) + container("sidecar", "side:1")),
    );
    expect(first.stderr).toBe("");
    expect(first.stdout.trim()).toBe("deployment.apps/web created");
    const second = await kubectl(
      ["apply", "-f", "-"],
      deployment(container("app", "app:2", "          env:\n            - {name: B, value: '3'}\n")),
    );
    expect(second.stderr).toBe("");
    expect(second.stdout.trim()).toBe("deployment.apps/web configured");
    const stored: any = await objects.read({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "acme" },
    });
    // Only the fields we set: a real apiserver also defaults imagePullPolicy, terminationMessagePath, ...
    const containers = stored.spec.template.spec.containers.map((c: any) => ({
      name: c.name,
      image: c.image,
      env: c.env,
    }));
    expect(containers).toEqual([{ name: "app", image: "app:2", env: [{ name: "B", value: "3" }] }]);
  });

  it("patches a Deployment with --type strategic and --type json", async () => {
    const strategic = await kubectl([
      "patch",
      "deployment",
      "web",
      "-n",
      "acme",
      "--type",
      "strategic",
      "-p",
      '{"spec":{"template":{"spec":{"containers":[{"name":"extra","image":"x:1"}]}}}}',
    ]);
    expect(strategic.stderr).toBe("");
    const json = await kubectl([
      "patch",
      "deployment",
      "web",
      "-n",
      "acme",
      "--type",
      "json",
      "-p",
      '[{"op":"test","path":"/spec/replicas","value":2},{"op":"replace","path":"/spec/replicas","value":3}]',
    ]);
    expect(json.stderr).toBe("");
    const stored: any = await objects.read({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "acme" },
    });
    expect(stored.spec.template.spec.containers.map((c: any) => c.name)).toEqual(["app", "extra"]);
    expect(stored.spec.replicas).toBe(3);
    const failed = await kubectl([
      "patch",
      "deployment",
      "web",
      "-n",
      "acme",
      "--type",
      "json",
      "-p",
      '[{"op":"test","path":"/spec/replicas","value":2}]',
    ]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain("The request is invalid");
  });
});

describe("kubectl scale and server-side apply", () => {
  const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: acme}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: "api:1"}]
`;

  it("records kubectl scale under the scale subresource, and a later apply of replicas conflicts with it", async () => {
    expect((await kubectl(["apply", "--server-side", "-f", "-"], manifest)).code).toBe(0);
    expect((await kubectl(["scale", "deployment", "api", "-n", "acme", "--replicas", "4"])).stdout.trim()).toBe(
      "deployment.apps/api scaled",
    );
    const conflict = await kubectl(["apply", "--server-side", "-f", "-"], manifest);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(
      /Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps\/v1 at \S+: \.spec\.replicas/,
    );
    const stored: any = await objects.read({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: "acme" },
    });
    expect(stored.spec.replicas).toBe(4);
  });
});

describe("kubectl typed-client commands (protobuf request bodies)", () => {
  it("creates a namespace, a configmap and a secret", async () => {
    expect((await kubectl(["create", "namespace", "typed"])).stdout.trim()).toBe("namespace/typed created");
    expect((await kubectl(["create", "configmap", "cfg", "-n", "typed", "--from-literal=a=1"])).stdout.trim()).toBe(
      "configmap/cfg created",
    );
    const secret = await kubectl(["create", "secret", "generic", "sec", "-n", "typed", "--from-literal=pw=s3cret"]);
    expect(secret.stderr).toBe("");
    const cm: any = await objects.read({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cfg", namespace: "typed" },
    });
    expect(cm.data).toEqual({ a: "1" });
    const stored: any = await objects.read({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "sec", namespace: "typed" },
    });
    expect(Buffer.from(stored.data.pw, "base64").toString()).toBe("s3cret");
  });

  it("creates a deployment with replicas and a port", async () => {
    const out = await kubectl([
      "create",
      "deployment",
      "web",
      "-n",
      "typed",
      "--image=nginx:1.27",
      "--replicas=3",
      "--port=8080",
    ]);
    expect(out.stderr).toBe("");
    expect(out.stdout.trim()).toBe("deployment.apps/web created");
    const stored: any = await objects.read({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "typed" },
    });
    expect(stored.spec.replicas).toBe(3);
    expect(stored.spec.selector).toEqual({ matchLabels: { app: "web" } });
    const [container] = stored.spec.template.spec.containers;
    expect([container.name, container.image, container.ports]).toEqual([
      "nginx",
      "nginx:1.27",
      [{ containerPort: 8080, protocol: "TCP" }],
    ]);
  });

  it("creates a PodDisruptionBudget with kubectl create pdb", async () => {
    const out = await kubectl(["create", "pdb", "web", "-n", "typed", "--selector=app=web", "--max-unavailable=50%"]);
    expect(out.stderr).toBe("");
    expect(out.stdout.trim()).toBe("poddisruptionbudget.policy/web created");
    const stored: any = await objects.read({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "web", namespace: "typed" },
    });
    expect(stored.spec).toEqual({ maxUnavailable: "50%", selector: { matchLabels: { app: "web" } } });
  });

  it("drains a node through the Eviction API", async () => {
    const manifests = `apiVersion: v1
kind: Node
metadata: {name: drain-me}
---
apiVersion: v1
kind: Pod
metadata: {name: lonely, namespace: typed}
spec:
  nodeName: drain-me
  containers: [{name: c, image: "x:1"}]
`;
    expect((await kubectl(["apply", "-f", "-"], manifests)).code).toBe(0);
    const drained = await kubectl(["drain", "drain-me", "--force", "--ignore-daemonsets", "--timeout=30s"]);
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain("pod/lonely evicted");
    expect(drained.stdout).toContain("node/drain-me drained");
    const node: any = await objects.read({ apiVersion: "v1", kind: "Node", metadata: { name: "drain-me" } });
    expect(node.spec.unschedulable).toBe(true);
    await expect(
      objects.read({ apiVersion: "v1", kind: "Pod", metadata: { name: "lonely", namespace: "typed" } }),
    ).rejects.toMatchObject({ code: 404 });
  });
});

describe("kubectl with Karpenter's real CRDs", () => {
  it("accepts a minimal NodePool and EC2NodeClass", async () => {
    const crds = await kubectl(["apply", "--server-side", "-f", karpenterCrdFile]);
    expect(crds.code).toBe(0);
    await kubectl([
      "wait",
      "--for=condition=Established",
      "crd/nodepools.karpenter.sh",
      "crd/ec2nodeclasses.karpenter.k8s.aws",
      "--timeout=20s",
    ]);
    const pair = [minimalNodePool("default"), minimalEC2NodeClass("default")];
    const out = await kubectl(["apply", "-f", "-"], pair.map((o) => JSON.stringify(o)).join("\n---\n"));
    expect(out.stderr).toBe("");
    expect(out.stdout).toContain("nodepool.karpenter.sh/default created");
    expect(out.stdout).toContain("ec2nodeclass.karpenter.k8s.aws/default created");
    const pool = (await objects.read({
      apiVersion: "karpenter.sh/v1",
      kind: "NodePool",
      metadata: { name: "default" },
    })) as any;
    expect(pool.spec.disruption.consolidateAfter).toBe("0s");
  });

  it("rejects an invalid NodePool with the schema's field path", async () => {
    const bad = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: bad
spec:
  disruption:
    consolidateAfter: 5 minutes
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: ["spot"]}
`;
    const out = await kubectl(["apply", "-f", "-"], bad);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain(
      'The NodePool "bad" is invalid: spec.disruption.consolidateAfter: Invalid value: "5 minutes"',
    );
  });
});
