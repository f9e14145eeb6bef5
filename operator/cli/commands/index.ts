// Registry of spotctl subcommands: one entry per command; its module is imported only when that command runs, so a
// run loads just what it needs (`plan` never loads the Kubernetes client that `render` needs, for instance).
import type { CliCommandEntry } from "../command.js";

export const commands: CliCommandEntry[] = [
  {
    name: "version",
    summary: "Print the spotctl version",
    load: async () => (await import("./version.js")).versionCommand,
  },
  {
    name: "schedule",
    summary: "Evaluate a HibernationSchedule at given instants",
    load: async () => (await import("./schedule.js")).scheduleCommand,
  },
  {
    name: "audit",
    summary: "Verify an audit export, JSON or CSV (hash chain + checksum)",
    load: async () => (await import("./audit.js")).auditCommand,
  },
  {
    name: "plan",
    summary: "Plan the cheapest nodes for a set of pods (JSON, one entry per node)",
    load: async () => (await import("./plan.js")).planCommand,
  },
  {
    name: "migrate",
    summary: "Move the agent tokens, snapshots and Leases of an earlier release into the release namespace",
    load: async () => (await import("./migrate.js")).migrateCommand,
  },
  {
    name: "render",
    summary: "Print the NodePools and EC2NodeClasses the operator would apply for NodeTemplate manifests",
    load: async () => (await import("./render.js")).renderCommand,
  },
];
