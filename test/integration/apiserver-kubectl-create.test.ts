// kubectl 1.33's own `create` generators (protobuf request bodies, protobuf responses) for every kind they cover that the server serves.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { selfSignedCertificate } from "../../operator/local/apiserver/tls.js";
import { decodeKubeProtobuf } from "../../operator/local/apiserver/protobuf.js";
import { kubectl, startTestCluster } from "../support/cluster.js";

function stripType(o: Record<string, unknown>): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

let server: LocalApiServer;
let workDir: string;

beforeAll(async () => {
  server = await startTestCluster();
  workDir = mkdtempSync(join(tmpdir(), "spotopt-kcreate-"));
  const ns = await kubectl(server, ["create", "namespace", "gen"]);
  expect(ns.stderr).toBe("");
  // A matching certificate and key for `create secret tls` (kubectl checks that they belong together).
  const pair = selfSignedCertificate({ commonName: "gen.example" });
  writeFileSync(join(workDir, "tls.crt"), pair.certPem);
  writeFileSync(join(workDir, "tls.key"), pair.keyPem);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

interface Row {
  args: string[];
  /** The API path of the object it creates. */
  path: string;
  /** What the stored object must hold (a subset). */
  holds: Record<string, unknown>;
}

const ns = ["-n", "gen"];
const rows: Row[] = [
  {
    args: ["configmap", "cfg", "--from-literal=a=1", ...ns],
    path: "/api/v1/namespaces/gen/configmaps/cfg",
    holds: { data: { a: "1" } },
  },
  {
    args: ["secret", "generic", "gsec", "--from-literal=pw=s3cret", ...ns],
    path: "/api/v1/namespaces/gen/secrets/gsec",
    holds: { type: "Opaque", data: { pw: Buffer.from("s3cret").toString("base64") } },
  },
  {
    args: [
      "secret",
      "docker-registry",
      "reg",
      "--docker-server=r.example",
      "--docker-username=u",
      "--docker-password=p",
      ...ns,
    ],
    path: "/api/v1/namespaces/gen/secrets/reg",
    holds: { type: "kubernetes.io/dockerconfigjson" },
  },
  {
    args: ["secret", "tls", "tls", "--cert=TLS_CRT", "--key=TLS_KEY", ...ns],
    path: "/api/v1/namespaces/gen/secrets/tls",
    holds: { type: "kubernetes.io/tls" },
  },
  {
    args: ["serviceaccount", "robot", ...ns],
    path: "/api/v1/namespaces/gen/serviceaccounts/robot",
    holds: { metadata: { name: "robot", namespace: "gen" } },
  },
  {
    args: ["service", "clusterip", "svc", "--tcp=80:8080", ...ns],
    path: "/api/v1/namespaces/gen/services/svc",
    holds: { spec: { type: "ClusterIP", ports: [{ name: "80-8080", port: 80, protocol: "TCP", targetPort: 8080 }] } },
  },
  {
    args: ["service", "nodeport", "np", "--tcp=443:8443", ...ns],
    path: "/api/v1/namespaces/gen/services/np",
    holds: { spec: { type: "NodePort" } },
  },
  {
    args: ["service", "loadbalancer", "lb", "--tcp=80:80", ...ns],
    path: "/api/v1/namespaces/gen/services/lb",
    holds: { spec: { type: "LoadBalancer" } },
  },
  {
    args: ["service", "externalname", "ext", "--external-name=db.example.com", ...ns],
    path: "/api/v1/namespaces/gen/services/ext",
    holds: { spec: { type: "ExternalName", externalName: "db.example.com" } },
  },
  {
    args: ["deployment", "web", "--image=nginx:1.27", "--replicas=0", ...ns],
    path: "/apis/apps/v1/namespaces/gen/deployments/web",
    // replicas is a pointer upstream: an explicit 0 must not be defaulted to 1.
    holds: { spec: { replicas: 0, selector: { matchLabels: { app: "web" } } } },
  },
  {
    args: ["job", "once", "--image=busybox", ...ns, "--", "echo", "hi"],
    path: "/apis/batch/v1/namespaces/gen/jobs/once",
    holds: {
      spec: { template: { spec: { containers: [{ name: "once", image: "busybox", command: ["echo", "hi"] }] } } },
    },
  },
  {
    args: ["cronjob", "nightly", "--image=busybox", "--schedule=0 3 * * *", ...ns],
    path: "/apis/batch/v1/namespaces/gen/cronjobs/nightly",
    holds: { spec: { schedule: "0 3 * * *" } },
  },
  {
    args: ["job", "from-cron", "--from=cronjob/nightly", ...ns],
    path: "/apis/batch/v1/namespaces/gen/jobs/from-cron",
    holds: { metadata: { annotations: { "cronjob.kubernetes.io/instantiate": "manual" } } },
  },
  {
    args: ["poddisruptionbudget", "pdb", "--selector=app=web", "--min-available=1", ...ns],
    path: "/apis/policy/v1/namespaces/gen/poddisruptionbudgets/pdb",
    holds: { spec: { minAvailable: 1 } },
  },
  {
    args: ["role", "reader", "--verb=get,list", "--resource=pods", ...ns],
    path: "/apis/rbac.authorization.k8s.io/v1/namespaces/gen/roles/reader",
    holds: { rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }] },
  },
  {
    args: ["rolebinding", "reader", "--role=reader", "--serviceaccount=gen:robot", ...ns],
    path: "/apis/rbac.authorization.k8s.io/v1/namespaces/gen/rolebindings/reader",
    holds: {
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" },
      subjects: [{ kind: "ServiceAccount", name: "robot", namespace: "gen" }],
    },
  },
  {
    args: ["clusterrole", "node-reader", "--verb=get", "--resource=nodes"],
    path: "/apis/rbac.authorization.k8s.io/v1/clusterroles/node-reader",
    holds: { rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }] },
  },
  {
    args: ["clusterrolebinding", "node-reader", "--clusterrole=node-reader", "--user=alice"],
    path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/node-reader",
    holds: { subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" }] },
  },
];

describe("kubectl create generators (protobuf bodies) for every served kind they cover", () => {
  it.each(rows)("kubectl create $args.0 $args.1", async (row) => {
    const args = row.args.map((a) =>
      a.replace("TLS_CRT", join(workDir, "tls.crt")).replace("TLS_KEY", join(workDir, "tls.key")),
    );
    const out = await kubectl(server, ["create", ...args]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/ created\n$/);
    const stored = await server.request("GET", row.path);
    expect(stored.status).toBe(200);
    expect(stored.json).toMatchObject(row.holds);
  });

  it("kubectl run creates a Pod (protobuf) and kubectl get reads it back", async () => {
    const out = await kubectl(server, ["run", "solo", "--image=busybox", "--restart=Never", ...ns, "--", "sleep", "1"]);
    expect(out.stderr).toBe("");
    const pod = await server.request("GET", "/api/v1/namespaces/gen/pods/solo");
    expect(pod.json).toMatchObject({ spec: { restartPolicy: "Never", containers: [{ args: ["sleep", "1"] }] } });
    const get = await kubectl(server, ["get", "pod", "solo", ...ns, "-o", "jsonpath={.spec.containers[0].image}"]);
    expect(get.stdout).toBe("busybox");
  });

  it("answers protobuf to a client that prefers it, and the body decodes to the stored object", async () => {
    const res = await server.request("GET", "/api/v1/namespaces/gen/configmaps/cfg", {
      headers: { Accept: "application/vnd.kubernetes.protobuf, application/json" },
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/vnd.kubernetes.protobuf");
    const json = await server.request("GET", "/api/v1/namespaces/gen/configmaps/cfg");
    expect(decodeKubeProtobuf(res.bytes)).toEqual({ apiVersion: "v1", kind: "ConfigMap", ...stripType(json.json) });
    const list = await server.request("GET", "/api/v1/namespaces/gen/secrets", {
      headers: { Accept: "application/vnd.kubernetes.protobuf, application/json" },
    });
    expect(decodeKubeProtobuf(list.bytes)).toMatchObject({ apiVersion: "v1", kind: "SecretList" });
  });
});
