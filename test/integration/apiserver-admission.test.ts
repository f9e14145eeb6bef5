// Defaulting and admission as a default EKS cluster has them: Service allocation, Pod ServiceAccount/Priority/DefaultTolerationSeconds, bindings.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { startTestCluster } from "../support/cluster.js";

let server: LocalApiServer;

beforeAll(async () => {
  server = await startTestCluster();
  await server.request("POST", "/api/v1/namespaces", { body: { metadata: { name: "adm" } } });
});

afterAll(async () => {
  await server?.stop();
});

const services = "/api/v1/namespaces/adm/services";
const pods = "/api/v1/namespaces/adm/pods";
const pod = (name: string, spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  metadata: { name },
  spec: { containers: [{ name: "c", image: "x:1" }], ...spec },
});

describe("Service defaults", () => {
  it.each([
    {
      type: "ClusterIP",
      spec: { ports: [{ port: 80 }] },
      holds: {
        type: "ClusterIP",
        ipFamilies: ["IPv4"],
        ipFamilyPolicy: "SingleStack",
        internalTrafficPolicy: "Cluster",
        sessionAffinity: "None",
        ports: [{ port: 80, targetPort: 80, protocol: "TCP" }],
      },
    },
    {
      type: "NodePort",
      spec: { type: "NodePort", ports: [{ port: 443, targetPort: "https" }] },
      holds: { externalTrafficPolicy: "Cluster", ports: [{ port: 443, targetPort: "https", protocol: "TCP" }] },
    },
    {
      type: "LoadBalancer",
      spec: { type: "LoadBalancer", ports: [{ port: 80 }] },
      holds: { externalTrafficPolicy: "Cluster", allocateLoadBalancerNodePorts: true },
    },
  ])("$type gets a cluster IP from the service CIDR and its traffic policies", async ({ type, spec, holds }) => {
    const res = await server.request("POST", services, { body: { metadata: { name: type.toLowerCase() }, spec } });
    expect(res.status).toBe(201);
    expect(res.json.spec).toMatchObject(holds);
    expect(res.json.spec.clusterIP).toMatch(/^10\.100\.\d+\.\d+$/);
    expect(res.json.spec.clusterIPs).toEqual([res.json.spec.clusterIP]);
    if (type !== "ClusterIP") {
      const nodePort = res.json.spec.ports[0].nodePort;
      expect(nodePort).toBeGreaterThanOrEqual(30000);
      expect(nodePort).toBeLessThanOrEqual(32767);
    }
  });

  it("keeps a headless Service headless and gives an ExternalName Service no IP", async () => {
    const headless = await server.request("POST", services, {
      body: { metadata: { name: "headless" }, spec: { clusterIP: "None", ports: [{ port: 5432 }] } },
    });
    expect(headless.json.spec).toMatchObject({ clusterIP: "None", clusterIPs: ["None"] });
    const ext = await server.request("POST", services, {
      body: { metadata: { name: "ext" }, spec: { type: "ExternalName", externalName: "db.example.com" } },
    });
    expect(ext.json.spec.clusterIP).toBeUndefined();
  });

  it("allocates distinct cluster IPs", async () => {
    const ips = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await server.request("POST", services, {
        body: { metadata: { name: `many-${i}` }, spec: { ports: [{ port: 80 }] } },
      });
      ips.add(res.json.spec.clusterIP);
    }
    expect(ips.size).toBe(20);
  });
});

describe("Pod admission", () => {
  it.each([
    {
      what: "a plain pod",
      spec: {},
      holds: {
        serviceAccountName: "default",
        serviceAccount: "default",
        priority: 0,
        preemptionPolicy: "PreemptLowerPriority",
      },
    },
    {
      what: "a pod of a named ServiceAccount",
      spec: { serviceAccountName: "robot" },
      holds: { serviceAccountName: "robot", serviceAccount: "robot" },
    },
    {
      what: "a system-node-critical pod",
      spec: { priorityClassName: "system-node-critical" },
      holds: { priority: 2000001000 },
    },
  ])("$what", async ({ what, spec, holds }) => {
    const res = await server.request("POST", pods, { body: pod(what.replace(/[^a-z]/g, ""), spec) });
    expect(res.status).toBe(201);
    expect(res.json.spec).toMatchObject(holds);
  });

  it("adds the not-ready/unreachable NoExecute tolerations of 300 s unless the pod has its own", async () => {
    const plain = await server.request("POST", pods, { body: pod("tol-default") });
    expect(plain.json.spec.tolerations).toEqual([
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
    ]);
    const own = {
      key: "node.kubernetes.io/unreachable",
      operator: "Exists",
      effect: "NoExecute",
      tolerationSeconds: 5,
    };
    const custom = await server.request("POST", pods, { body: pod("tol-own", { tolerations: [own] }) });
    expect(custom.json.spec.tolerations).toEqual([
      own,
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
    ]);
  });
});

describe("bindings", () => {
  it("binds a pod through the bindings collection and through pods/binding, once", async () => {
    await server.request("POST", "/api/v1/nodes", { body: { metadata: { name: "n1" } } });
    await server.request("POST", pods, { body: pod("b1") });
    await server.request("POST", pods, { body: pod("b2") });
    const viaCollection = await server.request("POST", "/api/v1/namespaces/adm/bindings", {
      body: { apiVersion: "v1", kind: "Binding", metadata: { name: "b1" }, target: { kind: "Node", name: "n1" } },
    });
    expect(viaCollection.status).toBe(201);
    const viaSub = await server.request("POST", `${pods}/b2/binding`, {
      body: { apiVersion: "v1", kind: "Binding", metadata: { name: "b2" }, target: { kind: "Node", name: "n1" } },
    });
    expect(viaSub.status).toBe(201);
    for (const name of ["b1", "b2"]) {
      const got = await server.request("GET", `${pods}/${name}`);
      expect(got.json.spec.nodeName).toBe("n1");
    }
    const again = await server.request("POST", "/api/v1/namespaces/adm/bindings", {
      body: { metadata: { name: "b1" }, target: { kind: "Node", name: "n1" } },
    });
    expect(again.status).toBe(409);
    expect((await server.request("GET", "/api/v1/namespaces/adm/bindings")).status).toBe(405);
  });
});
