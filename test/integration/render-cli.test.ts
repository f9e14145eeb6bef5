// `spotctl render` as a process: it prints what the NodeTemplate controller applies for the same manifests (compared
// with the objects the controller wrote to a local API server), and bad input exits 2 with one line naming the field.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadAll } from "js-yaml";
import { describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { useTemplateCluster } from "../support/template-cluster.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { validateKarpenterObject } from "../../src-shared/karpenter/validate.js";

const repo = resolve(import.meta.dirname, "../..");
const bin = join(repo, "bin/spotctl.mjs");
const NS = "org-render";
const envWithoutAws = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_")));

function spotctl(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: repo, env: envWithoutAws });
}

function file(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "render-")), name);
  writeFileSync(path, text);
  return path;
}

const templates = `apiVersion: spotoptimizer.io/v1alpha1
kind: NodeTemplate
metadata: {name: general, namespace: ${NS}}
spec: {clusterRef: {name: local}, families: [m5, c5], strategy: SPOT, isDefault: true}
---
apiVersion: spotoptimizer.io/v1alpha1
kind: NodeTemplate
metadata: {name: arm, namespace: ${NS}}
spec: {clusterRef: {name: local}, families: [m6g], architecture: arm64, strategy: HYBRID, diskSize: 50}
`;
const policy = `apiVersion: spotoptimizer.io/v1alpha1
kind: OptimizationPolicy
metadata: {name: local, namespace: ${NS}}
spec:
  clusterRef: {name: local}
  strategy: capacity-optimized
  binpack: {aggressiveness: 80}
  spotFallback: {enabled: true}
  azSpread: {enabled: true}
`;
const cluster = `apiVersion: spotoptimizer.io/v1alpha1
kind: ManagedCluster
metadata: {name: local, namespace: ${NS}}
spec: {mode: local, region: us-east-1}
`;

function matches(actual: unknown, expected: unknown): boolean {
  try {
    expect(actual).toMatchObject(expected as object);
    return true;
  } catch {
    return false;
  }
}

const env = useTemplateCluster({ namespace: NS });

describe("spotctl render", () => {
  it("prints the objects the controller applies for the same manifests, valid against Karpenter's CRDs", async () => {
    for (const doc of [...loadAll(templates), ...loadAll(policy)] as any[])
      await env.client.create({ ...doc, metadata: { ...doc.metadata } });
    const out = spotctl("render", "-f", file("t.yaml", templates), "-f", file("p.yaml", policy + "---\n" + cluster));
    expect(out.stderr).not.toMatch(/error/i);
    expect(out.status).toBe(0);
    const rendered = loadAll(out.stdout) as any[];
    expect(rendered.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      `EC2NodeClass/${karpenterName(NS, "general")}`,
      `NodePool/${karpenterName(NS, "general")}`,
      `EC2NodeClass/${karpenterName(NS, "arm")}`,
      `NodePool/${karpenterName(NS, "arm")}`,
    ]);
    for (const object of rendered) {
      expect(() => validateKarpenterObject(object)).not.toThrow();
      const ref = { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name };
      // The controller may apply the template before it sees the policy: wait for the level it settles on.
      const live = await eventually(
        async () => {
          const current = await env.client.getIfExists<any>(ref);
          return current && matches(current.spec, object.spec) ? current : undefined;
        },
        15_000,
        `${object.kind} ${object.metadata.name} as rendered`,
      ).catch(async () => env.client.getIfExists<any>(ref));
      // The API server adds the CRD's defaults (e.g. metadataOptions); everything rendered is there as rendered.
      expect(live?.spec).toMatchObject(object.spec);
      expect(live.metadata.labels).toMatchObject(object.metadata.labels);
    }
  }, 60_000);

  it("exits 2 with one line naming the field path for an invalid template", () => {
    const unknownFamily = spotctl("render", "-f", file("t.yaml", templates.replace("[m5, c5]", "[m5, m99]")));
    expect(unknownFamily.status).toBe(2);
    expect(unknownFamily.stdout).toBe("");
    expect(unknownFamily.stderr.trim().split("\n")).toHaveLength(1);
    expect(unknownFamily.stderr).toMatch(/t\.yaml \(document \d+, NodeTemplate general\): spec\.families\[1\]: .*m99/);
    const badDisk = spotctl("render", "-f", file("t.yaml", templates.replace("diskSize: 50", "diskSize: 4")));
    expect(badDisk.status).toBe(2);
    expect(badDisk.stderr).toMatch(/\(document 2, NodeTemplate arm\): spec\.diskSize: /);
    expect(badDisk.stderr.trim().split("\n")).toHaveLength(1);
    // a misspelt field, which kubectl apply refuses, is not dropped silently (it rendered the default strategy)
    const typo = spotctl("render", "-f", file("t.yaml", templates.replace("strategy: SPOT", "stratgy: SPOT")));
    expect(typo.status).toBe(2);
    expect(typo.stderr.trim()).toMatch(/t\.yaml \(document 1, NodeTemplate general\): unknown field "spec\.stratgy"$/);
    const topLevel = spotctl(
      "render",
      "-f",
      file(
        "t.yaml",
        templates.replace(
          "spec: {clusterRef: {name: local}, families: [m6g]",
          "specs: {}\nspec: {clusterRef: {name: local}, families: [m6g]",
        ),
      ),
    );
    expect(topLevel.status).toBe(2);
    expect(topLevel.stderr).toMatch(/\(document 2, NodeTemplate arm\): unknown field "specs"/);
    // no metadata at all, in each kind render reads
    for (const text of [templates, policy, cluster]) {
      const kind = /kind: (\w+)/.exec(text)![1]!;
      const bare = text.replace(/^metadata: .*\n/m, "");
      const noMetadata = spotctl(
        "render",
        "-f",
        file("t.yaml", kind === "NodeTemplate" ? bare : `${templates}---\n${bare}`),
      );
      expect(noMetadata.status, kind).toBe(2);
      expect(noMetadata.stderr.trim(), kind).toMatch(
        new RegExp(`\\(document \\d+, ${kind}\\): metadata\\.name: required$`),
      );
    }
  }, 60_000);

  it("exits 2 for a document of another kind and for a missing file", () => {
    const wrongKind = spotctl("render", "-f", file("x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"));
    expect(wrongKind.status).toBe(2);
    expect(wrongKind.stderr).toMatch(/kind: must be NodeTemplate, OptimizationPolicy or ManagedCluster/);
    const missing = spotctl("render", "-f", "/nonexistent/t.yaml");
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read \(ENOENT\)/);
    // render reads no AWS API: another region's prices come from --data only, and it says so
    const region = spotctl("render", "-f", file("t.yaml", templates), "--region", "eu-west-1");
    expect(region.status).toBe(2);
    expect(region.stderr.trim()).toMatch(
      /--region: .*only covers us-east-1; got region eu-west-1 \(give --data DIR\)$/,
    );
    const stdin = spotctl("render", "-f", "-");
    expect(stdin.status).toBe(2);
    expect(stdin.stderr.trim()).toBe("spotctl render: -f -: reading from stdin is not supported; give a file");
  }, 60_000);
});
