// The hibernation schedule service: every change edits the cluster's one HibernationSchedule in force (created on
// first use as "always awake", named after and owned by the cluster), checked with the schedule engine first.
import type { HibernationSchedule, ManagedCluster } from "../../../src-shared/crds/index.js";
import { compileSchedule, ScheduleSpecError } from "../../../src-shared/schedule/index.js";
import { UnprocessableError } from "../errors.js";
import { editPerClusterObject, targetCluster } from "./cluster-target.js";
import { facadeField } from "./k8s-writes.js";
import { settle, type ResourceContext } from "./resource-scope.js";
import { WEEKDAYS } from "./schedule-matrix.js";

export type ScheduleSpec = HibernationSchedule["spec"];

/** What a schedule created implicitly (by tz/prewarm/exception/override) starts with: awake all week. */
export const ALWAYS_AWAKE: ScheduleSpec["weekly"] = [{ days: [...WEEKDAYS], start: "00:00", end: "24:00" }];

/** Validates the resulting spec with the schedule engine so a bad value is a 422 naming the field, not a bad CR. */
function checkSpec(spec: Record<string, unknown>): void {
  try {
    compileSchedule(spec, "spec");
  } catch (err) {
    if (err instanceof ScheduleSpecError)
      throw new UnprocessableError(`${facadeField("HibernationSchedule", err.field)}: ${err.problem}`);
    throw err;
  }
}

export interface ScheduleChange {
  /** cluster_id, or the organisation's active cluster. */
  clusterId?: string | undefined;
  /** Merge patch of the schedule's spec as the API server holds it now (`null` removes a field). */
  patch: (current: ScheduleSpec) => Record<string, unknown>;
}

export interface ScheduleChanged {
  cluster: ManagedCluster;
  before?: HibernationSchedule;
  after: HibernationSchedule;
}

/** Applies one change to the cluster's schedule; concurrent changes on any replica all land. */
async function change(rc: ResourceContext, input: ScheduleChange): Promise<ScheduleChanged> {
  const cluster = await targetCluster(rc, input.clusterId);
  const clusterName = cluster.metadata.name ?? "";
  const initial = { clusterRef: { name: clusterName }, timezone: "UTC", weekly: ALWAYS_AWAKE };
  const result = await editPerClusterObject<HibernationSchedule>(
    {
      rc,
      kind: "HibernationSchedule",
      cluster,
      initial,
      patch: (current) => input.patch(current as ScheduleSpec),
      check: checkSpec,
    },
    () => rc.cache.hibernationSchedules(rc.namespace),
  );
  await settle(rc, "HibernationSchedule", result.after);
  return { cluster, ...result };
}

export interface ScheduleService {
  change: typeof change;
}

export function createScheduleService(): ScheduleService {
  return { change };
}
