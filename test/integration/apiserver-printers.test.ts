// `kubectl get` of built-in kinds prints the columns and cells kube-apiserver 1.33's table printers produce: the real
// kubectl renders the server's Table, so each row here is what a user sees against EKS.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { kubectl, startTestCluster } from "../support/cluster.js";

let server: LocalApiServer;
const NS = "print";
const AGE = /^\d+s$/;

async function post(path: string, body: object): Promise<any> {
  const r = await server.request("POST", path, { body });
  expect(r.status, r.text).toBe(201);
  return r.json;
}

async function putStatus(path: string, status: object): Promise<void> {
  const cur = (await server.request("GET", path)).json;
  const r = await server.request("PUT", `${path}/status`, { body: { ...cur, status } });
  expect(r.status, r.text).toBe(200);
}

const template = {
  metadata: { labels: { app: "web" } },
  spec: {
    containers: [
      { name: "web", image: "nginx:1.27" },
      { name: "side", image: "busybox" },
    ],
  },
};

beforeAll(async () => {
  server = await startTestCluster();
  await post("/api/v1/namespaces", { metadata: { name: NS } });
  const api = `/api/v1/namespaces/${NS}`;
  const apps = `/apis/apps/v1/namespaces/${NS}`;
  await post(`${api}/configmaps`, { metadata: { name: "cm" }, data: { a: "1", b: "2" }, binaryData: { c: "AA==" } });
  await post(`${api}/secrets`, {
    metadata: { name: "tls" },
    type: "kubernetes.io/tls",
    data: { "tls.crt": "AA==", "tls.key": "AA==" },
  });
  await post(`${api}/serviceaccounts`, { metadata: { name: "robot" }, secrets: [{ name: "robot-token" }] });
  await post(`${api}/services`, {
    metadata: { name: "web" },
    spec: {
      clusterIP: "10.100.7.7",
      selector: { app: "web", tier: "fe" },
      ports: [{ port: 80 }, { port: 443, protocol: "TCP" }],
    },
  });
  await post(`${api}/services`, {
    metadata: { name: "np" },
    spec: { type: "NodePort", clusterIP: "10.100.7.8", ports: [{ port: 80, nodePort: 30080, protocol: "UDP" }] },
  });
  await post(`${api}/services`, {
    metadata: { name: "ext" },
    spec: { type: "ExternalName", externalName: "example.com" },
  });
  await post(`${apps}/deployments`, {
    metadata: { name: "web" },
    spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template },
  });
  await putStatus(`${apps}/deployments/web`, {
    replicas: 3,
    readyReplicas: 2,
    updatedReplicas: 3,
    availableReplicas: 2,
  });
  await post(`${apps}/replicasets`, {
    metadata: { name: "web-1" },
    spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template },
  });
  await putStatus(`${apps}/replicasets/web-1`, { replicas: 3, readyReplicas: 1 });
  await post(`${apps}/statefulsets`, {
    metadata: { name: "db" },
    spec: { replicas: 2, serviceName: "db", selector: { matchLabels: { app: "web" } }, template },
  });
  await putStatus(`${apps}/statefulsets/db`, { replicas: 2, readyReplicas: 1, availableReplicas: 1 });
  await post(`/apis/batch/v1/namespaces/${NS}/jobs`, {
    metadata: { name: "once" },
    spec: { completions: 3, template: { ...template, spec: { ...template.spec, restartPolicy: "Never" } } },
  });
  await post(`/apis/batch/v1/namespaces/${NS}/cronjobs`, {
    metadata: { name: "nightly" },
    spec: {
      schedule: "0 3 * * *",
      timeZone: "Europe/Paris",
      jobTemplate: {
        spec: { template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "c", image: "busybox" }] } } },
      },
    },
  });
  await post(`/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets`, {
    metadata: { name: "pdb" },
    spec: { minAvailable: 1, selector: { matchLabels: { app: "none" } } },
  });
  await post(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, {
    metadata: { name: "leader" },
    spec: { holderIdentity: "op-1", leaseDurationSeconds: 15 },
  });
  await post(`${api}/pods`, { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "busybox" }] } });
  await post(`${api}/events`, {
    metadata: { name: "p.1" },
    involvedObject: { kind: "Pod", name: "p", namespace: NS, fieldPath: "spec.containers{c}" },
    reason: "Pulled",
    message: ' Pulled image "busybox" ',
    type: "Normal",
    source: { component: "kubelet", host: "node-1" },
    firstTimestamp: new Date().toISOString(),
    lastTimestamp: new Date().toISOString(),
    count: 4,
  });
  await post("/api/v1/nodes", {
    metadata: { name: "node-1", labels: { "node-role.kubernetes.io/worker": "" } },
    status: {
      conditions: [{ type: "Ready", status: "True" }],
      addresses: [{ type: "InternalIP", address: "10.0.0.5" }],
      nodeInfo: {
        kubeletVersion: "v1.33.1",
        osImage: "Amazon Linux 2023",
        kernelVersion: "6.1",
        containerRuntimeVersion: "containerd://1.7",
      },
    },
  });
});

afterAll(async () => {
  await server?.stop();
});

/** kubectl's output as rows of cells (columns are separated by at least two spaces). */
async function get(args: string[]): Promise<string[][]> {
  const r = await kubectl(server, ["get", ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .trimEnd()
    .split("\n")
    .map((l) => l.trim().split(/ {2,}/));
}

/** Compares a row, `AGE` standing for any age in seconds. */
function expectRow(actual: string[] | undefined, expected: (string | RegExp)[]): void {
  expect(actual?.length, JSON.stringify(actual)).toBe(expected.length);
  expected.forEach((e, i) => (e instanceof RegExp ? expect(actual![i]).toMatch(e) : expect(actual![i]).toBe(e)));
}

describe("kubectl get of built-in kinds", () => {
  it.each<[string, string[], string[], (string | RegExp)[]]>([
    ["configmap", ["configmap", "cm"], ["NAME", "DATA", "AGE"], ["cm", "3", AGE]],
    ["secret", ["secret", "tls"], ["NAME", "TYPE", "DATA", "AGE"], ["tls", "kubernetes.io/tls", "2", AGE]],
    ["serviceaccount", ["serviceaccount", "robot"], ["NAME", "SECRETS", "AGE"], ["robot", "1", AGE]],
    [
      "service (wide)",
      ["service", "web", "-o", "wide"],
      ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"],
      ["web", "ClusterIP", "10.100.7.7", "<none>", "80/TCP,443/TCP", AGE, "app=web,tier=fe"],
    ],
    [
      "service NodePort",
      ["service", "np"],
      ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
      ["np", "NodePort", "10.100.7.8", "<none>", "80:30080/UDP", AGE],
    ],
    [
      "service ExternalName",
      ["service", "ext"],
      ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
      ["ext", "ExternalName", "<none>", "example.com", "<none>", AGE],
    ],
    [
      "deployment",
      ["deployment", "web"],
      ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
      ["web", "2/3", "3", "2", AGE],
    ],
    [
      "deployment (wide)",
      ["deployment", "web", "-o", "wide"],
      ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"],
      ["web", "2/3", "3", "2", AGE, "web,side", "nginx:1.27,busybox", "app=web"],
    ],
    [
      "replicaset",
      ["replicaset", "web-1"],
      ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
      ["web-1", "3", "3", "1", AGE],
    ],
    ["statefulset", ["statefulset", "db"], ["NAME", "READY", "AGE"], ["db", "1/2", AGE]],
    ["job", ["job", "once"], ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"], ["once", "Running", "0/3", AGE]],
    [
      "cronjob",
      ["cronjob", "nightly"],
      ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"],
      ["nightly", "0 3 * * *", "Europe/Paris", "False", "0", "<none>", AGE],
    ],
    [
      "poddisruptionbudget",
      ["poddisruptionbudget", "pdb"],
      ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"],
      ["pdb", "1", "N/A", "0", AGE],
    ],
    ["lease", ["lease", "leader"], ["NAME", "HOLDER", "AGE"], ["leader", "op-1", AGE]],
    ["pod", ["pod", "p"], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], ["p", "0/1", "Pending", "0", AGE]],
    [
      "pod (wide)",
      ["pod", "p", "-o", "wide"],
      ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
      ["p", "0/1", "Pending", "0", AGE, "<none>", "<none>", "<none>", "<none>"],
    ],
    [
      "event",
      ["event", "p.1"],
      ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
      [AGE, "Normal", "Pulled", "pod/p", 'Pulled image "busybox"'],
    ],
    [
      "event (wide)",
      ["event", "p.1", "-o", "wide"],
      ["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME"],
      [
        AGE,
        "Normal",
        "Pulled",
        "pod/p",
        "spec.containers{c}",
        "kubelet, node-1",
        'Pulled image "busybox"',
        AGE,
        "4",
        "p.1",
      ],
    ],
    [
      "node (wide)",
      ["node", "node-1", "-o", "wide"],
      [
        "NAME",
        "STATUS",
        "ROLES",
        "AGE",
        "VERSION",
        "INTERNAL-IP",
        "EXTERNAL-IP",
        "OS-IMAGE",
        "KERNEL-VERSION",
        "CONTAINER-RUNTIME",
      ],
      [
        "node-1",
        "Ready",
        "worker",
        AGE,
        "v1.33.1",
        "10.0.0.5",
        "<none>",
        "Amazon Linux 2023",
        "6.1",
        "containerd://1.7",
      ],
    ],
    ["namespace", ["namespace", NS], ["NAME", "STATUS", "AGE"], [NS, "Active", AGE]],
  ])("%s", async (_what, args, header, row) => {
    const rows = await get([...args, "-n", NS]);
    expect(rows[0]).toEqual(header);
    expectRow(rows[1], row);
  });
});
