// `spotctl schedule eval`: evaluates a HibernationSchedule manifest at given instants, one JSON line per instant.
import { readFileSync } from "node:fs";
import { Temporal } from "@js-temporal/polyfill";
import { load } from "js-yaml";
import { UsageError, parseFlags, refuseStdin, type CliCommand } from "../command.js";
import { HibernationScheduleSpec } from "../../../src-shared/crds/hibernationschedule.js";
import { unknownFields, unknownManifestFields } from "../../../src-shared/crds/unknown-fields.js";
import {
  ScheduleSpecError,
  compileSchedule,
  evaluateSchedule,
  nextTransition,
  type CompiledSchedule,
} from "../../../src-shared/schedule/index.js";

const USAGE = `spotctl schedule eval --spec FILE --at T [--at T ...]

Evaluates a HibernationSchedule manifest (YAML or JSON) at each RFC 3339 instant T and prints one JSON
line per instant: {"at","state":"awake"|"asleep","reason","nextTransition"}.
reason is the rule that decided: override, exception, weekly, prewarm or default (outside every window).
nextTransition is the first later instant at which the state changes (null if it never does).
An invalid spec exits 2 naming the field, e.g. spec.weekly[0].end.`;

function readManifest(path: string): unknown {
  refuseStdin("--spec", path);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`--spec: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return load(text);
  } catch (err) {
    const firstLine = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new UsageError(`--spec: ${path} is not valid YAML or JSON: ${firstLine}`);
  }
}

/** Accepts a full manifest ({kind, spec}) or, for convenience, a bare spec. */
function compileManifest(manifest: unknown): CompiledSchedule {
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest)) {
    throw new UsageError("--spec: the file must hold one HibernationSchedule object");
  }
  const record = manifest as Record<string, unknown>;
  if (record.kind !== undefined && record.kind !== "HibernationSchedule") {
    throw new UsageError(`kind: must be HibernationSchedule, got ${JSON.stringify(record.kind)}`);
  }
  const spec = specOf(record);
  let compiled: CompiledSchedule;
  try {
    compiled = compileSchedule(spec, "spec");
  } catch (err) {
    if (err instanceof ScheduleSpecError) throw new UsageError(err.message);
    throw err;
  }
  checkAgainstCrd(spec);
  return compiled;
}

/** The spec of a full manifest (or the bare spec), its fields checked first. */
function specOf(record: Record<string, unknown>): unknown {
  const hasSpec = record.kind !== undefined || record.spec !== undefined;
  const spec = hasSpec ? record.spec : record;
  // before anything else reads the spec: a misspelt field (timezon) is named as such, not as the field it missed, and
  // refused as kubectl apply refuses it (prewarmMinute would otherwise be evaluated as absent)
  const unknown = hasSpec
    ? unknownManifestFields(HibernationScheduleSpec, record)
    : unknownFields(HibernationScheduleSpec, spec, "spec");
  if (unknown.length > 0) throw new UsageError(`unknown field ${JSON.stringify(unknown[0])}`);
  // the API server fills in the CRD's default time zone: evaluated as the controller will run it
  const given = spec as Record<string, unknown> | null;
  if (typeof given === "object" && given !== null && !Array.isArray(given) && given.timezone === undefined)
    return { ...given, timezone: HibernationScheduleSpec.shape.timezone.parse(undefined) };
  return spec;
}

/** The rest of the spec (clusterRef, excludedNamespaces, gracePeriodMinutes, …) as the CRD would check it. */
function checkAgainstCrd(spec: unknown): void {
  const crd = HibernationScheduleSpec.safeParse(spec);
  if (crd.success) return;
  const issue = crd.error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  throw new UsageError(`spec${path}: ${issue.message}`);
}

function parseInstant(value: string): Temporal.Instant {
  try {
    return Temporal.Instant.from(value);
  } catch {
    throw new UsageError(
      `--at: ${JSON.stringify(value)} is not an RFC 3339 instant with an offset (e.g. 2025-03-30T01:30:00Z)`,
    );
  }
}

async function evalSubcommand(args: string[], stdout: (text: string) => void): Promise<number> {
  const { flags, positional } = parseFlags(args, { values: ["spec", "at"] });
  if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const specPath = flags.get("spec")?.at(-1);
  if (specPath === undefined) throw new UsageError("--spec FILE is required");
  const instants = (flags.get("at") ?? []).map(parseInstant);
  if (instants.length === 0) throw new UsageError("at least one --at T is required");
  const schedule = compileManifest(readManifest(specPath));
  for (const at of instants) {
    const { state, reason } = evaluateSchedule(schedule, at);
    const next = nextTransition(schedule, at);
    stdout(JSON.stringify({ at: at.toString(), state, reason, nextTransition: next?.at ?? null }) + "\n");
  }
  return 0;
}

export const scheduleCommand: CliCommand = {
  usage: USAGE,
  run: async (args, io) => {
    const [sub, ...rest] = args;
    if (sub === "eval") return evalSubcommand(rest, io.stdout);
    throw new UsageError(
      sub === undefined ? "missing subcommand (expected: eval)" : `unknown subcommand "${sub}" (expected: eval)`,
    );
  },
};
