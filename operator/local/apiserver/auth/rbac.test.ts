// RBAC evaluation as Kubernetes does it: verbs, groups, resources, subresources, resourceNames, bindings, aggregation.
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../selectors.js";
import { forbiddenMessage, rbacAllows, type RbacObjects, type UserInfo } from "./rbac.js";
import { requestAttributes } from "./request-info.js";

const sa: UserInfo = {
  name: "system:serviceaccount:spot:operator",
  groups: ["system:serviceaccounts", "system:serviceaccounts:spot", "system:authenticated"],
};

function objects(input: {
  clusterRoles?: KubeObject[];
  clusterRoleBindings?: KubeObject[];
  roles?: KubeObject[];
  roleBindings?: KubeObject[];
}): RbacObjects {
  return {
    clusterRoles: () => input.clusterRoles ?? [],
    clusterRoleBindings: () => input.clusterRoleBindings ?? [],
    role: (ns, name) => (input.roles ?? []).find((r) => r.metadata?.namespace === ns && r.metadata?.name === name),
    roleBindings: (ns) => (input.roleBindings ?? []).filter((b) => b.metadata?.namespace === ns),
  };
}

const saSubject = { kind: "ServiceAccount", name: "operator", namespace: "spot" };
const clusterBinding = (role: string, subjects: object[] = [saSubject]): KubeObject => ({
  metadata: { name: `b-${role}` },
  roleRef: { kind: "ClusterRole", name: role },
  subjects,
});
const clusterRole = (name: string, rules: object[], labels?: Record<string, string>): KubeObject => ({
  metadata: { name, ...(labels ? { labels } : {}) },
  rules,
});

const allowed = (o: RbacObjects, method: string, path: string, user: UserInfo = sa): boolean => {
  const u = new URL(path, "https://x");
  return rbacAllows(o, user, requestAttributes(method, u.pathname, u.searchParams));
};

describe("RBAC authorizer", () => {
  const operatorRole = objects({
    clusterRoles: [
      clusterRole("op", [
        { apiGroups: ["spotoptimizer.io"], resources: ["managedclusters"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["spotoptimizer.io"], resources: ["managedclusters/status"], verbs: ["patch"] },
        { apiGroups: [""], resources: ["configmaps"], resourceNames: ["head"], verbs: ["get", "update"] },
        { apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["update"] },
      ]),
    ],
    clusterRoleBindings: [clusterBinding("op")],
  });

  it.each([
    ["GET", "/apis/spotoptimizer.io/v1alpha1/managedclusters", true],
    ["GET", "/apis/spotoptimizer.io/v1alpha1/namespaces/a/managedclusters?watch=true", true],
    ["GET", "/apis/spotoptimizer.io/v1alpha1/watch/namespaces/a/managedclusters", true],
    ["GET", "/apis/spotoptimizer.io/v1alpha1/namespaces/a/managedclusters/c", true],
    ["PATCH", "/apis/spotoptimizer.io/v1alpha1/namespaces/a/managedclusters/c/status", true],
    ["PATCH", "/apis/spotoptimizer.io/v1alpha1/namespaces/a/managedclusters/c", false],
    ["DELETE", "/apis/spotoptimizer.io/v1alpha1/namespaces/a/managedclusters/c", false],
    ["GET", "/apis/other.io/v1alpha1/namespaces/a/managedclusters/c", false],
    ["GET", "/api/v1/namespaces/a/configmaps/head", true],
    ["PUT", "/api/v1/namespaces/a/configmaps/head", true],
    ["GET", "/api/v1/namespaces/a/configmaps/other", false],
    ["GET", "/api/v1/namespaces/a/configmaps", false],
    // A list or watch naming one object through its field selector is matched against resourceNames.
    ["GET", "/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dhead", false],
    ["GET", "/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3D%3Dhead&watch=true", false],
    ["PUT", "/apis/apps/v1/namespaces/a/deployments/web/scale", true],
    ["PUT", "/apis/apps/v1/namespaces/a/deployments/web", false],
  ])("%s %s -> %s", (method, path, expected) => {
    expect(allowed(operatorRole, method, path)).toBe(expected);
  });

  describe("list/watch with a metadata.name field selector against resourceNames", () => {
    const lease = objects({
      clusterRoles: [
        clusterRole("one-cm", [
          { apiGroups: [""], resources: ["configmaps"], resourceNames: ["head"], verbs: ["list", "watch"] },
        ]),
      ],
      clusterRoleBindings: [clusterBinding("one-cm")],
    });
    it.each([
      ["/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dhead", true],
      ["/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3D%3Dhead", true],
      ["/api/v1/namespaces/a/configmaps?watch=true&fieldSelector=metadata.name%3Dhead", true],
      ["/api/v1/namespaces/a/configmaps?watch=True&fieldSelector=metadata.name%3Dhead", true],
      ["/api/v1/namespaces/a/configmaps?fieldSelector=metadata.namespace%3Da,metadata.name%3Dhead", true],
      ["/api/v1/configmaps?fieldSelector=metadata.name%3Dhead", true],
      ["/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dother", false],
      ["/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name!%3Dhead", false],
      ["/api/v1/namespaces/a/configmaps", false],
      ["/api/v1/namespaces/a/configmaps?labelSelector=name%3Dhead", false],
      // The legacy /watch/ paths never take the name from the selector (upstream's verb-via-path requests).
      ["/api/v1/watch/namespaces/a/configmaps?fieldSelector=metadata.name%3Dhead", false],
    ])("GET %s -> %s", (path, expected) => {
      expect(allowed(lease, "GET", path)).toBe(expected);
    });

    it("names the object in the denial, as upstream's attributes carry it", () => {
      const u = new URL("https://x/api/v1/namespaces/a/configmaps?watch=1&fieldSelector=metadata.name%3Dtail");
      const a = requestAttributes("GET", u.pathname, u.searchParams);
      expect(a).toMatchObject({ verb: "watch", name: "tail" });
      expect(forbiddenMessage(sa, a)).toBe(
        'configmaps "tail" is forbidden: User "system:serviceaccount:spot:operator" cannot watch resource "configmaps" in API group "" in the namespace "a"',
      );
    });

    it("keeps DELETE of a collection a deletecollection without a name", () => {
      const u = new URL("https://x/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dhead");
      expect(requestAttributes("DELETE", u.pathname, u.searchParams)).toMatchObject({
        verb: "deletecollection",
        name: undefined,
      });
    });
  });

  it("grants nothing to a user no binding names", () => {
    const other: UserInfo = { name: "system:serviceaccount:spot:facade", groups: ["system:authenticated"] };
    expect(allowed(operatorRole, "GET", "/apis/spotoptimizer.io/v1alpha1/managedclusters", other)).toBe(false);
  });

  it("scopes RoleBindings to their namespace, also when they reference a ClusterRole", () => {
    const o = objects({
      roles: [
        {
          metadata: { name: "leases", namespace: "spot" },
          rules: [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get"] }],
        },
      ],
      roleBindings: [
        {
          metadata: { name: "b1", namespace: "spot" },
          roleRef: { kind: "Role", name: "leases" },
          subjects: [saSubject],
        },
        {
          metadata: { name: "b2", namespace: "team" },
          roleRef: { kind: "ClusterRole", name: "view-pods" },
          subjects: [saSubject],
        },
      ],
      clusterRoles: [clusterRole("view-pods", [{ apiGroups: [""], resources: ["pods"], verbs: ["list"] }])],
    });
    expect(allowed(o, "GET", "/apis/coordination.k8s.io/v1/namespaces/spot/leases/l")).toBe(true);
    expect(allowed(o, "GET", "/apis/coordination.k8s.io/v1/namespaces/other/leases/l")).toBe(false);
    expect(allowed(o, "GET", "/api/v1/namespaces/team/pods")).toBe(true);
    expect(allowed(o, "GET", "/api/v1/pods")).toBe(false);
  });

  it("matches Group subjects and wildcards as Kubernetes does", () => {
    const o = objects({
      clusterRoles: [clusterRole("all-status", [{ apiGroups: ["*"], resources: ["*/status"], verbs: ["*"] }])],
      clusterRoleBindings: [clusterBinding("all-status", [{ kind: "Group", name: "system:serviceaccounts:spot" }])],
    });
    expect(allowed(o, "PATCH", "/apis/apps/v1/namespaces/a/deployments/d/status")).toBe(true);
    expect(allowed(o, "PATCH", "/apis/apps/v1/namespaces/a/deployments/d")).toBe(false);
  });

  it("aggregates ClusterRoles by label", () => {
    const o = objects({
      clusterRoles: [
        {
          metadata: { name: "agg" },
          aggregationRule: { clusterRoleSelectors: [{ matchLabels: { agg: "yes" } }] },
          rules: [],
        },
        clusterRole("part", [{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }], { agg: "yes" }),
      ],
      clusterRoleBindings: [clusterBinding("agg")],
    });
    expect(allowed(o, "GET", "/api/v1/nodes/n1")).toBe(true);
    expect(allowed(o, "DELETE", "/api/v1/nodes/n1")).toBe(false);
  });

  it("words a denial like kube-apiserver", () => {
    const a = requestAttributes("GET", "/api/v1/namespaces/a/secrets", new URLSearchParams());
    expect(forbiddenMessage(sa, a)).toBe(
      'secrets is forbidden: User "system:serviceaccount:spot:operator" cannot list resource "secrets" in API group "" in the namespace "a"',
    );
  });
});
