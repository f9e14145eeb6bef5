// Shared setup of the runtime apply tests: a local API server with our CRDs, one namespace, and a log of every write.
import { afterAll, beforeAll } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { NodeTemplateKind } from "../../src-shared/crds/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { startTestCluster } from "./cluster.js";

export interface ApplyFixture {
  /** The client of the running server (set in beforeAll). */
  readonly client: KubeClient;
  /** "verb resource/name" of every successful write, in order; tests reset it with `writes.length = 0`. */
  writes: string[];
  /** The NodeTemplate "general" in the fixture's namespace with these families and labels. */
  template: (families: string[], labels?: Record<string, string>) => KubeObject;
  /** Reference to that NodeTemplate. */
  ref: { apiVersion: string; kind: string; namespace: string; name: string };
}

/** Registers beforeAll/afterAll hooks that start and stop a server with the project's CRDs and the namespace `ns`. */
export function applyFixture(ns: string): ApplyFixture {
  let server: LocalApiServer | undefined;
  let client: KubeClient | undefined;
  const writes: string[] = [];
  beforeAll(async () => {
    server = await startTestCluster({ crds: "project" });
    client = new KubeClient(server.kubeConfig);
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    server.faults.onWrite((w) => writes.push(`${w.verb} ${w.resource}/${w.name}`));
  });
  afterAll(async () => {
    server?.faults.onWrite(undefined);
    client?.close();
    await server?.stop();
  });
  return {
    get client(): KubeClient {
      if (!client) throw new Error("applyFixture: the server is not started (use it inside tests)");
      return client;
    },
    writes,
    template: (families, labels = { team: "a" }) => ({
      apiVersion: NodeTemplateKind.apiVersion,
      kind: NodeTemplateKind.kind,
      metadata: { name: "general", namespace: ns, labels },
      spec: { clusterRef: { name: "prod" }, families, strategy: "SPOT" },
    }),
    ref: { apiVersion: NodeTemplateKind.apiVersion, kind: NodeTemplateKind.kind, namespace: ns, name: "general" },
  };
}
