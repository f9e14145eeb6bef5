// A default NodeTemplate deleted with kubectl is succeeded by the operator: the oldest remaining template becomes the
// default (isDefault, the ManagedCluster's spec.defaultTemplate, the higher NodePool weight); deleting the last one
// clears spec.defaultTemplate, so a template created afterwards is not taken for a successor.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { registerNodeTemplateController } from "../../operator/controllers/nodetemplate/controller.js";
import { DEFAULT_WEIGHT, OTHER_WEIGHT } from "../../operator/controllers/nodetemplate/desired.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { eventually, startTestCluster } from "../support/cluster.js";
import { designateLocalCluster } from "../support/local-cluster.js";
import { toolPath } from "../support/tools.js";

const NS = "org-s";
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" } as const;
const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" } as const;
const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;

let server: LocalApiServer;
let client: KubeClient;
let manager: ControllerManager;
let workDir: string;

function kubectl(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(
      toolPath("kubectl"),
      ["--kubeconfig", join(workDir, "kubeconfig"), "--cache-dir", join(workDir, "cache"), ...args],
      { env: { PATH: process.env.PATH ?? "", HOME: workDir }, timeout: 60_000 },
      (err, _stdout, stderr) => done({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stderr }),
    );
  });
}

function template(name: string, isDefault = false): KubeObject {
  return {
    ...NT,
    metadata: { name, namespace: NS },
    spec: { clusterRef: { name: "local" }, families: ["m5"], isDefault },
  };
}

async function cluster(): Promise<any> {
  return client.get({ ...MC, namespace: NS, name: "local" });
}

async function weight(name: string): Promise<number | undefined> {
  return ((await client.getIfExists<any>({ ...NP, name: karpenterName(NS, name) })) as any)?.spec.weight;
}

async function isDefault(name: string): Promise<boolean | undefined> {
  return ((await client.getIfExists<any>({ ...NT, namespace: NS, name })) as any)?.spec.isDefault;
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "spotopt-succession-"));
  server = await startTestCluster({ crds: "all" });
  writeFileSync(join(workDir, "kubeconfig"), server.kubeconfigYaml);
  client = new KubeClient(server.kubeConfig);
  await designateLocalCluster(client, { namespace: NS, name: "local", spec: { region: "us-east-1" } });
  manager = new ControllerManager({ client });
  await registerNodeTemplateController({ manager, client });
  manager.start();
  await manager.waitForCacheSync();
}, 30_000);

afterAll(async () => {
  await manager?.stop();
  client?.close();
  await server?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

it("makes the oldest remaining template the default when the default is deleted with kubectl", async () => {
  // Created in this order: a is the oldest (creationTimestamp, then name break a tie within a second).
  await client.create(template("a"));
  await client.create(template("b", true));
  await client.create(template("c"));
  await eventually(async () => (await cluster()).spec.defaultTemplate === "b", 15_000, "b named the default");
  await eventually(async () => (await weight("b")) === DEFAULT_WEIGHT, 15_000, "b's NodePool weighted");

  const deleted = await kubectl(["delete", "nodetemplate", "b", "-n", NS]);
  expect(deleted).toMatchObject({ code: 0, stderr: "" });

  await eventually(async () => (await cluster()).spec.defaultTemplate === "a", 15_000, "a named the default");
  await eventually(async () => (await isDefault("a")) === true, 15_000, "a isDefault");
  await eventually(async () => (await weight("a")) === DEFAULT_WEIGHT, 15_000, "a's NodePool weighted");
  expect(await weight("b")).toBeUndefined();
  expect(await weight("c")).toBe(OTHER_WEIGHT);
  expect(await isDefault("c")).toBe(false);
  const events = await client.list<any>({ apiVersion: "v1", kind: "Event", namespace: NS });
  expect(
    events.items.some(
      (e) =>
        e.involvedObject.name === "a" &&
        e.reason === "DefaultTemplate" &&
        /succeeds the deleted default b/.test(e.message),
    ),
  ).toBe(true);
}, 60_000);

it("clears spec.defaultTemplate when the last template goes, so a new template is not made the default", async () => {
  expect((await kubectl(["delete", "nodetemplate", "a", "-n", NS])).code).toBe(0);
  await eventually(async () => (await cluster()).spec.defaultTemplate === "c", 15_000, "c succeeded a");
  expect((await kubectl(["delete", "nodetemplate", "c", "-n", NS])).code).toBe(0);
  await eventually(async () => (await cluster()).spec.defaultTemplate === undefined, 15_000, "default cleared");

  await client.create(template("d"));
  await eventually(async () => (await weight("d")) === OTHER_WEIGHT, 15_000, "d applied");
  await manager.idle();
  expect(await isDefault("d")).toBe(false);
  expect((await cluster()).spec.defaultTemplate).toBeUndefined();
}, 60_000);
