// PodDisruptionBudget status (the disruption controller): healthy/expected pods and disruptions allowed.
import type { CommittedWrite } from "../core.js";
import { clone, deepEqual } from "../objects.js";
import { computePdbStatus } from "../eviction.js";
import { upsertCondition } from "./conditions.js";
import type { Loop, LoopRuntime } from "./runtime.js";

export class DisruptionController implements Loop {
  constructor(private readonly runtime: LoopRuntime) {}

  observe(w: CommittedWrite): void {
    const ev = w.event;
    const ns = ev.obj.metadata?.namespace as string | undefined;
    if (ns && (ev.resource === "/pods" || ev.resource === "policy/poddisruptionbudgets"))
      this.runtime.enqueue(`pdb:${ns}`, () => this.syncPdbs(ns));
  }

  private syncPdbs(ns: string): void {
    const core = this.runtime.core;
    const pdbType = this.runtime.type("policy", "poddisruptionbudgets");
    const pods = core.store.list("/pods", ns);
    for (const pdb of core.store.list("policy/poddisruptionbudgets", ns)) {
      if (pdb.metadata?.deletionTimestamp) continue;
      const computed = computePdbStatus(pdb, pods);
      const status: Record<string, any> = {
        ...clone((pdb.status as Record<string, any> | undefined) ?? {}),
        ...computed.status,
      };
      const allowed = computed.status.disruptionsAllowed > 0;
      status.conditions = upsertCondition(status.conditions, {
        type: "DisruptionAllowed",
        status: allowed ? "True" : "False",
        reason: allowed ? "SufficientPods" : "InsufficientPods",
        message: "",
        observedGeneration: pdb.metadata?.generation as number | undefined,
      });
      if (deepEqual(status, pdb.status)) continue;
      core.commitUpdate(this.runtime.ctx(pdbType, ns), pdb, { ...pdb, status }, "status");
    }
  }
}
