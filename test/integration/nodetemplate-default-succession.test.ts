// A default NodeTemplate deleted with kubectl is succeeded by the operator: the oldest remaining template becomes the
// default (isDefault, the ManagedCluster's spec.defaultTemplate, the higher NodePool weight); deleting the last one
// clears spec.defaultTemplate, so a template created afterwards is not taken for a successor.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEFAULT_WEIGHT, OTHER_WEIGHT } from "../../operator/controllers/nodetemplate/desired.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import type { KubeObject } from "../../src-shared/kube/index.js";
import { eventually } from "../support/cluster.js";
import { NODE_POOL as NP, NODE_TEMPLATE as NT, useTemplateCluster } from "../support/template-cluster.js";
import { toolPath } from "../support/tools.js";

const NS = "org-s";
const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" } as const;

const env = useTemplateCluster({ namespace: NS });
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
  return env.client.get({ ...MC, namespace: NS, name: "local" });
}

async function weight(name: string): Promise<number | undefined> {
  return ((await env.client.getIfExists<any>({ ...NP, name: karpenterName(NS, name) })) as any)?.spec.weight;
}

async function isDefault(name: string): Promise<boolean | undefined> {
  return ((await env.client.getIfExists<any>({ ...NT, namespace: NS, name })) as any)?.spec.isDefault;
}

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), "spotopt-succession-"));
  writeFileSync(join(workDir, "kubeconfig"), env.server.kubeconfigYaml);
});

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

it("makes the oldest remaining template the default when the default is deleted with kubectl", async () => {
  // Created in this order: a is the oldest (creationTimestamp, then name break a tie within a second).
  await env.client.create(template("a"));
  await env.client.create(template("b", true));
  await env.client.create(template("c"));
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
  const events = await env.client.list<any>({ apiVersion: "v1", kind: "Event", namespace: NS });
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

  await env.client.create(template("d"));
  await eventually(async () => (await weight("d")) === OTHER_WEIGHT, 15_000, "d applied");
  await env.manager.idle();
  expect(await isDefault("d")).toBe(false);
  expect((await cluster()).spec.defaultTemplate).toBeUndefined();
}, 60_000);
