// `kubectl auth can-i` and kubectl's --as / --as-group against the local API server, as against kube-apiserver: the
// access reviews are answered from the RBAC objects the server holds, and impersonation acts as the named user only
// for a requester allowed to impersonate it (before, the Impersonate-* headers were ignored: --as acted as admin).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { kubectl, startTestCluster } from "../support/cluster.js";

let server: LocalApiServer;
const SA = "system:serviceaccount:team:reader";

beforeAll(async () => {
  server = await startTestCluster();
  const manifests = `
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader, namespace: team}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pods-reader, namespace: team}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list]}
- {apiGroups: [""], resources: [configmaps], resourceNames: [settings], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pods-reader}
subjects:
- {kind: ServiceAccount, name: reader, namespace: team}
- {kind: Group, name: auditors}
`;
  const applied = await kubectl(server, ["apply", "-f", "-"], manifests);
  expect(applied.stderr).toBe("");
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

async function canI(args: string[]): Promise<string> {
  const run = await kubectl(server, ["auth", "can-i", ...args]);
  // exit 0 = yes, 1 = no (kubectl prints the answer either way); anything else is an error
  expect([0, 1], run.stderr).toContain(run.code);
  return run.stdout.trim();
}

describe("kubectl auth can-i", () => {
  it("answers from the RBAC the server holds, for a ServiceAccount, a group and by resource name", async () => {
    expect(await canI(["list", "pods", "-n", "team", `--as=${SA}`])).toBe("yes");
    expect(await canI(["delete", "pods", "-n", "team", `--as=${SA}`])).toBe("no");
    expect(await canI(["list", "pods", "-n", "default", `--as=${SA}`])).toBe("no");
    expect(await canI(["get", "configmaps/settings", "-n", "team", `--as=${SA}`])).toBe("yes");
    expect(await canI(["get", "configmaps/other", "-n", "team", `--as=${SA}`])).toBe("no");
    expect(await canI(["list", "pods", "-n", "team", "--as=someone", "--as-group=auditors"])).toBe("yes");
    expect(await canI(["list", "pods", "-n", "team", "--as=someone"])).toBe("no");
    // the admin (system:masters) may do anything
    expect(await canI(["delete", "nodes"])).toBe("yes");
  });
});

describe("kubectl auth can-i --list", () => {
  it("lists the rules bound to the user in the namespace, every user's own among them", async () => {
    const run = await kubectl(server, ["auth", "can-i", "--list", "-n", "team", `--as=${SA}`]);
    expect(run.code, run.stderr).toBe(0);
    const rows = run.stdout.split("\n").map((line) => line.trim().split(/\s+/));
    const row = (resource: string): string[] | undefined => rows.find((r) => r[0] === resource);
    expect(row("pods")).toEqual(["pods", "[]", "[]", "[get", "list]"]);
    expect(row("configmaps")).toEqual(["configmaps", "[]", "[settings]", "[get]"]);
    expect(row("selfsubjectaccessreviews.authorization.k8s.io")?.at(-1)).toBe("[create]");
    expect(row("secrets")).toBeUndefined();
    // another namespace: only what every user may do
    const elsewhere = await kubectl(server, ["auth", "can-i", "--list", "-n", "default", `--as=${SA}`]);
    expect(elsewhere.stdout).not.toMatch(/^pods\s/m);
  });
});

describe("impersonation", () => {
  it("kubectl auth whoami names the user the request acts as, impersonated or not", async () => {
    const own = await kubectl(server, ["auth", "whoami", "-o", "json"]);
    expect(own.code, own.stderr).toBe(0);
    const me = JSON.parse(own.stdout).status.userInfo;
    expect(me.groups).toContain("system:authenticated");
    const as = await kubectl(server, ["auth", "whoami", "-o", "json", `--as=${SA}`]);
    expect(as.code, as.stderr).toBe(0);
    expect(JSON.parse(as.stdout).status.userInfo).toEqual({
      username: SA,
      groups: ["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"],
    });
    expect(me.username).not.toBe(SA);
  });

  it("acts as the named user, refused where that user may not", async () => {
    const denied = await kubectl(server, ["get", "secrets", "-n", "team", `--as=${SA}`]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(`User "${SA}" cannot list resource "secrets"`);
    const allowed = await kubectl(server, ["get", "pods", "-n", "team", `--as=${SA}`, "-o", "name"]);
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it("needs the impersonate verb: a ServiceAccount without it cannot act as anyone else", async () => {
    const token = server.serviceAccountToken("team", "reader");
    const asReader = ["--token", token, "-n", "team"];
    const own = await kubectl(server, ["get", "pods", ...asReader, "-o", "name"]);
    expect(own.code, own.stderr).toBe(0);
    const other = await kubectl(server, ["get", "pods", ...asReader, "--as=system:admin"]);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('cannot impersonate resource "users"');
  });
});

describe("impersonation, as kube-apiserver's filter decides it", () => {
  it("lets a ServiceAccount impersonate exactly the users its Role names, with system:authenticated added", async () => {
    const grant = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonate-ops}
rules:
- {apiGroups: [""], resources: [users], verbs: [impersonate], resourceNames: [ops]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: reader-impersonates-ops}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: impersonate-ops}
subjects:
- {kind: ServiceAccount, name: reader, namespace: team}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: authenticated-read, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pods-reader}
subjects:
- {kind: Group, name: "system:authenticated"}
`;
    expect((await kubectl(server, ["apply", "-f", "-"], grant)).stderr).toBe("");
    const token = server.serviceAccountToken("team", "reader");
    // ops has no binding of its own: it reads pods through system:authenticated, which impersonation adds
    const asOps = await kubectl(server, ["get", "pods", "-n", "team", "--token", token, "--as=ops", "-o", "name"]);
    expect(asOps.code, asOps.stderr).toBe(0);
    const asOther = await kubectl(server, ["get", "pods", "-n", "team", "--token", token, "--as=dev"]);
    expect(asOther.stderr).toContain('cannot impersonate resource "users"');
    // a group it may not impersonate is refused too
    const withGroup = await kubectl(server, [
      "get",
      "pods",
      "-n",
      "team",
      "--token",
      token,
      "--as=ops",
      "--as-group=admins",
    ]);
    expect(withGroup.stderr).toContain('cannot impersonate resource "groups"');
  });

  it("gives system:anonymous system:unauthenticated only, and a group without a user is an error", async () => {
    expect(await canI(["list", "pods", "-n", "team", "--as=system:anonymous"]).catch(() => "error")).not.toBe("yes");
    const anonymous = await server.request("GET", "/api/v1/namespaces/team/pods", {
      headers: { "impersonate-user": "system:anonymous" },
    });
    expect(anonymous.status).toBe(403);
    const groupOnly = await server.request("GET", "/api/v1/namespaces/team/pods", {
      headers: { "impersonate-group": "auditors" },
    });
    expect(groupOnly.status).toBe(500);
  });
});

describe("SubjectAccessReview", () => {
  it("reviews the user and groups of its spec, and a local review only in its own namespace", async () => {
    const review = (kind: string, spec: Record<string, unknown>, namespace?: string) =>
      server.request(
        "POST",
        namespace
          ? `/apis/authorization.k8s.io/v1/namespaces/${namespace}/localsubjectaccessreviews`
          : "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        { body: { apiVersion: "authorization.k8s.io/v1", kind, spec } },
      );
    const yes = await review("SubjectAccessReview", {
      user: SA,
      groups: ["system:serviceaccounts"],
      resourceAttributes: { namespace: "team", verb: "get", resource: "pods" },
    });
    expect(yes.status).toBe(201);
    expect(yes.json).toMatchObject({ kind: "SubjectAccessReview", status: { allowed: true } });
    const no = await review("SubjectAccessReview", {
      user: SA,
      resourceAttributes: { namespace: "team", verb: "get", resource: "secrets" },
    });
    expect(no.json).toMatchObject({ status: { allowed: false } });
    const local = await review(
      "LocalSubjectAccessReview",
      { user: SA, resourceAttributes: { namespace: "default", verb: "get", resource: "pods" } },
      "team",
    );
    expect(local.status).toBe(422);
    expect(local.json.message).toContain("must match metadata.namespace");
    const nothing = await review("SubjectAccessReview", { user: SA });
    expect(nothing.status).toBe(422);
    expect((await review("SubjectAccessReview", { resourceAttributes: { verb: "get" } })).status).toBe(422);
    // Wrong JSON types are refused as kube-apiserver's strict decoding does, never read loosely: a string of groups
    // must not match "system:masters" as a substring.
    for (const spec of [
      { user: SA, groups: "system:masters", resourceAttributes: { verb: "delete", resource: "nodes" } },
      { user: SA, nonResourceAttributes: { path: 5, verb: "get" } },
    ])
      expect((await review("SubjectAccessReview", spec)).status).toBe(400);
    // Only where the types are served: v1, the self and plain reviews cluster-wide, the local one in a namespace.
    const misplaced = await server.request(
      "POST",
      "/apis/authorization.k8s.io/v1/namespaces/team/selfsubjectaccessreviews",
      {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { nonResourceAttributes: { path: "/api", verb: "get" } },
        },
      },
    );
    expect(misplaced.status).toBe(404);
  });
});
