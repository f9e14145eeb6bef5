// Where the agent objects live, read back from the local API server: a heartbeat's snapshot and Lease and a connect's
// token hash in the release namespace (nothing in the organisation's), a token matched only to the organisation and
// cluster its Secret's labels name, a cluster named beyond a label value, the sweep of a deleted cluster's objects,
// and `spotctl migrate agent-objects` moving an earlier release's token so the agent keeps authenticating.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentTokenSecretName, newAgentToken, sha256Hex } from "../../operator/facade/services/agent-token.js";
import { sweepAgentObjects } from "../../operator/facade/services/agent-objects-sweep.js";
import { runCli } from "../../operator/cli/main.js";
import { commands } from "../../operator/cli/commands/index.js";
import { agentLeaseName, parseSnapshot, snapshotConfigMapName } from "../../src-shared/agent/snapshot.js";
import { labelValue } from "../../src-shared/karpenter/labels.js";
import type { KubeObject } from "../../src-shared/kube/client.js";
import { DEFAULT_SYSTEM_NAMESPACE as RELEASE } from "../../src-shared/tenancy/cluster-target.js";
import { testHeartbeat } from "../support/agent.js";
import { eventually } from "../support/cluster.js";
import { startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };
const SECRET = { apiVersion: "v1", kind: "Secret" };

let f: TestFacade;
let orgA: SignedUp;
let orgB: SignedUp;
let dir: string;

beforeAll(async () => {
  f = await startTestFacade();
  orgA = await f.signup("Placement A");
  orgB = await f.signup("Placement B");
  dir = mkdtempSync(join(tmpdir(), "spotopt-agent-objects-"));
});
afterAll(async () => {
  await f?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(who: SignedUp, cluster: string): Promise<string> {
  const res = await f.call("POST", "/clusters/connect", { token: who.accessToken, body: { cluster_id: cluster } });
  expect(res.status).toBe(200);
  return res.body.api_token as string;
}

/** What an agent route answers this token for this cluster. */
async function agentStatus(cluster: string, token: string): Promise<number> {
  return (await f.call("GET", `/clusters/${cluster}/actions/pending`, { token })).status;
}

const beat = testHeartbeat();

async function inNamespace(kind: { apiVersion: string; kind: string }, namespace: string): Promise<KubeObject[]> {
  return (await f.client.list<KubeObject>({ ...kind, namespace })).items;
}

describe("agent objects in the release namespace", () => {
  it("a heartbeat writes the snapshot and Lease there, labelled for the organisation and cluster, nothing in the organisation's", async () => {
    const token = await connect(orgA, "hb");
    await eventually(async () => (await agentStatus("hb", token)) === 200);
    const res = await f.call("POST", "/clusters/hb/heartbeat", { token, body: beat });
    expect(res.status).toBe(200);
    const cluster = await f.client.get({ ...MC, namespace: orgA.namespace, name: "hb" });
    const labels = {
      "spotoptimizer.io/organisation-namespace": orgA.namespace,
      "spotoptimizer.io/cluster": "hb",
      "spotoptimizer.io/cluster-uid": cluster.metadata?.uid,
    };
    const cm = await f.client.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: RELEASE,
      name: snapshotConfigMapName(orgA.namespace, "hb"),
    });
    expect(cm.metadata?.labels).toEqual({ "spotoptimizer.io/agent-snapshot": "true", ...labels });
    expect(parseSnapshot(cm as never)?.nodes.map((n) => n.name)).toEqual(["ip-10-0-1-1"]);
    const lease = await f.client.get({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: RELEASE,
      name: agentLeaseName(orgA.namespace, "hb"),
    });
    expect(lease.metadata?.labels).toEqual({ "spotoptimizer.io/agent-lease": "true", ...labels });
    const verify = await f.call("GET", "/clusters/hb/verify", { token: orgA.accessToken });
    expect(verify.body).toMatchObject({ status: "connected", connected: true });
    // The organisation namespace holds no Secret, no snapshot, no Lease of ours.
    expect(await inNamespace(SECRET, orgA.namespace)).toEqual([]);
    expect(
      (await inNamespace({ apiVersion: "v1", kind: "ConfigMap" }, orgA.namespace)).filter(
        (c) => c.metadata?.labels?.["spotoptimizer.io/agent-snapshot"],
      ),
    ).toEqual([]);
    expect(await inNamespace({ apiVersion: "coordination.k8s.io/v1", kind: "Lease" }, orgA.namespace)).toEqual([]);
  });

  it("a token Secret labelled for organisation A never authenticates organisation B's cluster, whatever its name", async () => {
    await connect(orgB, "edge");
    const forged = newAgentToken(orgB.namespace, "edge");
    const name = agentTokenSecretName(orgB.namespace, "edge");
    const b = await f.client.get({ ...MC, namespace: orgB.namespace, name: "edge" });
    const secret = await f.client.get<KubeObject & { data: Record<string, string> }>({
      ...SECRET,
      namespace: RELEASE,
      name,
    });
    // B's Secret, by name, now holding the forged token's hash but labelled for organisation A.
    const labelledForA = {
      ...secret,
      metadata: {
        ...secret.metadata,
        labels: { ...secret.metadata?.labels, "spotoptimizer.io/organisation-namespace": orgA.namespace },
      },
      data: { "token-hash": Buffer.from(sha256Hex(forged)).toString("base64") },
    };
    await f.client.replace(labelledForA);
    await eventually(async () => (await agentStatus("edge", forged)) === 401);
    // The same Secret labelled for B and its cluster (uid included) is accepted: the labels alone made the difference.
    const current = await f.client.get<KubeObject>({ ...SECRET, namespace: RELEASE, name });
    await f.client.replace({
      ...current,
      metadata: {
        ...current.metadata,
        labels: {
          ...current.metadata?.labels,
          "spotoptimizer.io/organisation-namespace": orgB.namespace,
          "spotoptimizer.io/cluster-uid": b.metadata?.uid ?? "",
        },
      },
    });
    await eventually(async () => (await agentStatus("edge", forged)) === 200);
  });

  it("a token of a deleted cluster does not authenticate the cluster made again under its name; the sweep removes its objects", async () => {
    const token = await connect(orgA, "again");
    await eventually(async () => (await agentStatus("again", token)) === 200);
    await f.call("POST", "/clusters/again/heartbeat", { token, body: beat });
    await f.client.delete({ ...MC, namespace: orgA.namespace, name: "again" });
    await f.client.create({ ...MC, metadata: { name: "again", namespace: orgA.namespace }, spec: { mode: "remote" } });
    await eventually(async () => (await agentStatus("again", token)) === 401);
    // An hour on, the sweep deletes the objects of the cluster that is gone (the uid no longer matches).
    const later = new Date(Date.now() + 3_600_000);
    const cache = f.facades[0]!.cache;
    const deleted = await sweepAgentObjects({ client: f.client, cache, releaseNamespace: RELEASE, now: () => later });
    expect(deleted).toBe(3);
    for (const [kind, name] of [
      [SECRET, agentTokenSecretName(orgA.namespace, "again")],
      [{ apiVersion: "v1", kind: "ConfigMap" }, snapshotConfigMapName(orgA.namespace, "again")],
      [{ apiVersion: "coordination.k8s.io/v1", kind: "Lease" }, agentLeaseName(orgA.namespace, "again")],
    ] as const)
      expect(await f.client.getIfExists({ ...kind, namespace: RELEASE, name })).toBeUndefined();
    // The live cluster's objects stay.
    expect(
      await f.client.getIfExists({ ...SECRET, namespace: RELEASE, name: agentTokenSecretName(orgA.namespace, "hb") }),
    ).toBeDefined();
  });

  it("a cluster named beyond a label value connects, beats and is verified; its objects name it in annotations", async () => {
    const long = `long-${"c".repeat(90)}-name`;
    const token = await connect(orgA, long);
    await eventually(async () => (await agentStatus(long, token)) === 200);
    expect((await f.call("POST", `/clusters/${long}/heartbeat`, { token, body: beat })).status).toBe(200);
    const objects = [
      [SECRET, agentTokenSecretName(orgA.namespace, long)],
      [{ apiVersion: "v1", kind: "ConfigMap" }, snapshotConfigMapName(orgA.namespace, long)],
      [{ apiVersion: "coordination.k8s.io/v1", kind: "Lease" }, agentLeaseName(orgA.namespace, long)],
    ] as const;
    for (const [kind, name] of objects) {
      const o = await f.client.get({ ...kind, namespace: RELEASE, name });
      expect(o.metadata?.labels?.["spotoptimizer.io/cluster"]).toBe(labelValue(long));
      expect(o.metadata?.annotations).toEqual({
        "spotoptimizer.io/organisation-namespace": orgA.namespace,
        "spotoptimizer.io/cluster": long,
        // the snapshot also says when the report it holds was received
        ...(kind.kind === "ConfigMap" ? { "spotoptimizer.io/received-at-ms": expect.stringMatching(/^\d{13}$/) } : {}),
      });
    }
    const verify = await f.call("GET", `/clusters/${long}/verify`, { token: orgA.accessToken });
    expect(verify.body).toMatchObject({ status: "connected", connected: true });
    // The sweep judges them by the full name: kept while the cluster lives, deleted once it is gone.
    const sweep = (): Promise<number> =>
      sweepAgentObjects({
        client: f.client,
        cache: f.facades[0]!.cache,
        releaseNamespace: RELEASE,
        now: () => new Date(Date.now() + 3_600_000),
      });
    const present = async (): Promise<boolean[]> =>
      Promise.all(
        objects.map(async ([kind, name]) => !!(await f.client.getIfExists({ ...kind, namespace: RELEASE, name }))),
      );
    await sweep();
    expect(await present()).toEqual([true, true, true]);
    await f.client.delete({ ...MC, namespace: orgA.namespace, name: long });
    await eventually(() => f.facades[0]!.cache.cluster(orgA.namespace, long) === undefined);
    await sweep();
    expect(await present()).toEqual([false, false, false]);
  });
});

describe("spotctl migrate agent-objects", () => {
  async function migrate(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const code = await runCli(["migrate", ...args], commands, {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
    });
    return { code, out, err };
  }

  /** A token Secret, snapshot and Lease as the previous release kept them: in the organisation namespace. */
  async function previousRelease(who: SignedUp, cluster: string, token: string, owned = true): Promise<void> {
    const mc: KubeObject = await f.client.create<KubeObject>({
      ...MC,
      metadata: { name: cluster, namespace: who.namespace },
      spec: { mode: "remote" },
    } as KubeObject);
    const owner = [{ apiVersion: MC.apiVersion, kind: "ManagedCluster", name: cluster, uid: mc.metadata?.uid ?? "" }];
    await f.client.create({
      ...SECRET,
      metadata: {
        name: `${cluster}-agent-token`,
        namespace: who.namespace,
        labels: { "spotoptimizer.io/agent-token": "true", "spotoptimizer.io/cluster": cluster },
        ...(owned ? { ownerReferences: owner } : {}),
      },
      type: "Opaque",
      data: { "token-hash": Buffer.from(sha256Hex(token)).toString("base64") },
    } as KubeObject);
    await f.client.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: `${cluster}-agent-snapshot`,
        namespace: who.namespace,
        labels: { "spotoptimizer.io/agent-snapshot": "true", "spotoptimizer.io/cluster": cluster },
      },
      data: {},
    });
    await f.client.create({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: `${cluster}-agent`,
        namespace: who.namespace,
        labels: { "spotoptimizer.io/agent-lease": "true", "spotoptimizer.io/cluster": cluster },
      },
      spec: {},
    });
  }

  it("moves an earlier release's token so the agent's token authenticates again, deletes old snapshots and Leases, and is idempotent", async () => {
    const token = newAgentToken(orgB.namespace, "old-edge");
    await previousRelease(orgB, "old-edge", token);
    await eventually(() => f.facades[0]!.cache.cluster(orgB.namespace, "old-edge") !== undefined);
    // Before the migration this release does not find the hash where the earlier one kept it.
    expect(await agentStatus("old-edge", token)).toBe(401);
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, f.server.kubeconfigYaml, { mode: 0o600 });
    const first = await migrate("agent-objects", "--kubeconfig", kubeconfig, "--release-namespace", RELEASE);
    expect(first.err).toBe("");
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({
      tokens_copied: 1,
      old_tokens_deleted: 1,
      snapshots_deleted: 1,
      leases_deleted: 1,
      conflicts: [],
    });
    expect(first.out).not.toContain(sha256Hex(token));
    await eventually(async () => (await agentStatus("old-edge", token)) === 200);
    expect(await inNamespace(SECRET, orgB.namespace)).toEqual([]);
    expect(await inNamespace({ apiVersion: "coordination.k8s.io/v1", kind: "Lease" }, orgB.namespace)).toEqual([]);
    // Again: nothing left to move, nothing changed, the token still works.
    const second = await migrate("agent-objects", "--kubeconfig", kubeconfig, "--release-namespace", RELEASE);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.out)).toMatchObject({ tokens_copied: 0, old_tokens_deleted: 0, snapshots_deleted: 0 });
    expect(await agentStatus("old-edge", token)).toBe(200);
  });

  it("leaves alone the token, snapshot and Lease another release namespace keeps (the README's command in local mode)", async () => {
    const token = await connect(orgA, "live-elsewhere");
    await eventually(async () => (await agentStatus("live-elsewhere", token)) === 200);
    expect((await f.call("POST", "/clusters/live-elsewhere/heartbeat", { token, body: beat })).status).toBe(200);
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, f.server.kubeconfigYaml, { mode: 0o600 });
    // The facade keeps its agent objects in RELEASE; the command is told another release namespace: one that does
    // not exist is refused, one that does (another release's) finds nothing of its own to move.
    const missing = await migrate("agent-objects", "--kubeconfig", kubeconfig, "--release-namespace", "spot-optimizer");
    expect(missing.code).toBe(2);
    expect(missing.out).toBe("");
    expect(missing.err.trim()).toBe(
      "spotctl migrate: release namespace spot-optimizer does not exist: name the namespace the facade runs in",
    );
    await f.client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "spot-optimizer" } });
    const run = await migrate("agent-objects", "--kubeconfig", kubeconfig, "--release-namespace", "spot-optimizer");
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.out);
    expect(summary).toMatchObject({ tokens_copied: 0, old_tokens_deleted: 0, orphaned_tokens_deleted: 0 });
    expect(summary.left_in_other_namespaces).toBeGreaterThanOrEqual(1);
    expect(
      await f.client.getIfExists({
        ...SECRET,
        namespace: RELEASE,
        name: agentTokenSecretName(orgA.namespace, "live-elsewhere"),
      }),
    ).toBeDefined();
    expect(await agentStatus("live-elsewhere", token)).toBe(200);
  });

  it("deletes an old token Secret whose cluster is gone without copying it", async () => {
    const token = newAgentToken(orgA.namespace, "gone");
    // Unowned (an owned one goes with its cluster by garbage collection): one the collector cannot take.
    await previousRelease(orgA, "gone", token, false);
    await f.client.delete({ ...MC, namespace: orgA.namespace, name: "gone" });
    const kubeconfig = join(dir, "kubeconfig");
    const run = await migrate("agent-objects", "--kubeconfig", kubeconfig, "--release-namespace", RELEASE);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ tokens_copied: 0, orphaned_tokens_deleted: 1 });
    expect(
      await f.client.getIfExists({ ...SECRET, namespace: RELEASE, name: agentTokenSecretName(orgA.namespace, "gone") }),
    ).toBeUndefined();
  });

  it("answers usage errors with exit code 2 and one line, and a refused request with exit code 1 and one line", async () => {
    for (const args of [
      [],
      ["tokens"],
      ["agent-objects", "--release-namespace", "Not_A_Namespace"],
      ["agent-objects", "--bogus"],
    ]) {
      const run = await migrate(...args);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.err.trim().split("\n"), args.join(" ")).toHaveLength(1);
    }
    const missing = await migrate("agent-objects", "--kubeconfig", join(dir, "no-such-file"));
    expect(missing.code).toBe(2);
    // A kubeconfig whose token the API server does not know: 401, said in one line, nothing printed on stdout.
    const stranger = join(dir, "stranger");
    writeFileSync(stranger, f.server.kubeconfigYaml.replace(/token: .*/g, "token: not-a-token"), { mode: 0o600 });
    const refused = await migrate("agent-objects", "--kubeconfig", stranger);
    expect(refused.code).toBe(1);
    expect(refused.out).toBe("");
    expect(refused.err.trim().split("\n")).toHaveLength(1);
    expect(refused.err).toContain("401");
  });
});
