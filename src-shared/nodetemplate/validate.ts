// The one NodeTemplate validation (families × architecture × strategy × disk, against the instance catalog when one is
// given), shared by POST /templates, POST /templates/validate, the NodeTemplate controller's Valid condition and spotctl.
import type { InstanceShape, Price } from "../pricing/types.js";

export type Architecture = "x86_64" | "arm64";

export interface TemplateDraft {
  families?: readonly string[];
  architecture?: string;
  strategy?: string;
  diskType?: string;
  diskSizeGiB?: number;
}

/** What the checks need from a price book (src-shared/pricing's PriceBook fits). */
export interface InstanceCatalog {
  region: string;
  instanceTypes: ReadonlyMap<string, InstanceShape>;
  onDemand: ReadonlyMap<string, Price>;
  spot: ReadonlyMap<string, ReadonlyMap<string, Price>>;
}

export interface TemplateValidation {
  valid: boolean;
  /** Every finding, blocking or not, in the `warnings` field the dashboard shows. */
  warnings: string[];
  /** The blocking subset of `warnings`; valid === (errors.length === 0). */
  errors: string[];
  /** Normalised architecture when it was recognised. */
  architecture?: Architecture;
}

const FAMILY_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
// Graviton families carry a "g" right after the generation digit (m6g, c7gn, t4g, im4gn, is4gen, x2gd, g5g) and a1
// is the first-generation Graviton; checked against all 177 families of Karpenter's instance-type table.
const ARM_FAMILY = /^(a1|[a-z]+\d+g[a-z]*(-flex)?)$/;
const ACCELERATED_FAMILY = /^(p\d|g\d|gr\d|inf\d|trn\d|dl\d|vt\d|f\d)/;
const BOOT_VOLUME_TYPES = new Set(["gp2", "gp3", "io1", "io2", "standard"]);
const HDD_VOLUME_TYPES = new Set(["st1", "sc1"]);
/** The root snapshot of the EKS-optimized AL2023 AMI is 20 GiB; a smaller root volume fails to launch. */
export const MIN_ROOT_DISK_GIB = 20;
/** The NodeTemplate CRD's bounds of diskSize: what the API server takes at all. */
const MIN_DISK_GIB = 8;
const MAX_DISK_GIB = 16_384;

/** Maps the spellings dashboards and CLIs send (ARM64, aarch64, amd64, X86_64) to the NodeTemplate enum. */
export function normaliseArchitecture(value: string): Architecture | undefined {
  const v = value.trim().toLowerCase();
  if (v === "arm64" || v === "aarch64" || v === "arm") return "arm64";
  if (v === "x86_64" || v === "amd64" || v === "x86-64" || v === "x86") return "x86_64";
  return undefined;
}

/** The Kubernetes `kubernetes.io/arch` value of a NodeTemplate architecture. */
export function kubeArch(architecture: Architecture): "amd64" | "arm64" {
  return architecture === "arm64" ? "arm64" : "amd64";
}

/** The CPU architecture an EC2 instance family runs on, or undefined when the name is not a family name. */
export function familyArchitecture(family: string): Architecture | undefined {
  if (!FAMILY_PATTERN.test(family) || !/\d/.test(family)) return undefined;
  return ARM_FAMILY.test(family) ? "arm64" : "x86_64";
}

const familyIndexes = new WeakMap<ReadonlyMap<string, InstanceShape>, Map<string, InstanceShape[]>>();

/**
 * The catalog's instance types by family, built once per catalog (a price book's type map is never mutated after it is
 * built): every template check and NodePool build would otherwise scan the whole catalog per family.
 */
export function familyIndex(catalog: Pick<InstanceCatalog, "instanceTypes">): ReadonlyMap<string, InstanceShape[]> {
  let index = familyIndexes.get(catalog.instanceTypes);
  if (index === undefined) {
    index = new Map();
    for (const shape of catalog.instanceTypes.values()) {
      const list = index.get(shape.family);
      if (list) list.push(shape);
      else index.set(shape.family, [shape]);
    }
    familyIndexes.set(catalog.instanceTypes, index);
  }
  return index;
}

/** Instance types of the catalog in `family` (all architectures). */
export function typesOfFamily(catalog: InstanceCatalog, family: string): InstanceShape[] {
  return [...(familyIndex(catalog).get(family) ?? [])];
}

interface FamilyContext {
  arch: Architecture | undefined;
  spotOnly: boolean;
  catalog: InstanceCatalog | undefined;
  errors: string[];
  notes: string[];
}

function archName(arch: Architecture): string {
  return arch === "arm64" ? "ARM64" : "x86_64";
}

/** Catalog-backed checks: the family exists, has types of the architecture, and (SPOT only) has a Spot offering. */
function checkFamilyInCatalog(family: string, ctx: FamilyContext & { catalog: InstanceCatalog }): void {
  const types = typesOfFamily(ctx.catalog, family);
  if (types.length === 0) {
    ctx.errors.push(
      `Instance family ${family} is not in the instance catalog of ${ctx.catalog.region} ` +
        `(${familyCount(ctx.catalog)} families); check the spelling or pick a family the region offers`,
    );
    return;
  }
  const ofArch =
    ctx.arch === undefined ? types : types.filter((t) => t.arch === (ctx.arch === "arm64" ? "arm64" : "amd64"));
  if (ofArch.length === 0) {
    // The same wording with a catalog as without one (below), so the dashboard shows one message for this conflict.
    ctx.errors.push(`Instance family ${family} is incompatible with ${archName(ctx.arch!)}`);
    return;
  }
  const spotOffered = ofArch.some((t) => (ctx.catalog.spot.get(t.name)?.size ?? 0) > 0);
  if (ctx.spotOnly && !spotOffered)
    ctx.errors.push(
      `Instance family ${family} has no Spot offering in ${ctx.catalog.region}, so a SPOT-only template can never ` +
        `launch it; use HYBRID or ON_DEMAND, or another family`,
    );
}

function familyCount(catalog: InstanceCatalog): number {
  return familyIndex(catalog).size;
}

function checkFamily(raw: string, ctx: FamilyContext): void {
  const family = raw.trim().toLowerCase();
  const familyArch = familyArchitecture(family);
  if (familyArch === undefined) {
    ctx.errors.push(`"${raw}" is not an EC2 instance family name (e.g. m5, c7g)`);
    return;
  }
  if (ctx.catalog) checkFamilyInCatalog(family, { ...ctx, catalog: ctx.catalog });
  else if (ctx.arch !== undefined && familyArch !== ctx.arch)
    ctx.errors.push(`Instance family ${family} is incompatible with ${archName(ctx.arch)}`);
  if (ctx.spotOnly && ACCELERATED_FAMILY.test(family))
    ctx.notes.push(
      `Instance family ${family} is accelerated: Spot capacity for it is scarce and interrupted often; ` +
        `consider HYBRID so On-Demand can take over`,
    );
}

/** Each family once (as first written) with how often it is listed. */
function countFamilies(families: readonly string[]): Map<string, { raw: string; count: number }> {
  const counted = new Map<string, { raw: string; count: number }>();
  for (const raw of families) {
    const family = raw.trim().toLowerCase();
    const entry = counted.get(family);
    if (entry) entry.count += 1;
    else counted.set(family, { raw, count: 1 });
  }
  return counted;
}

function checkFamilies(draft: TemplateDraft, ctx: FamilyContext): void {
  const families = draft.families ?? [];
  if (families.length === 0) ctx.errors.push("families must name at least one instance family");
  // Checked once per distinct family: a repeated entry adds one note, not a copy of every finding per repetition.
  const counted = countFamilies(families);
  for (const [family, { raw, count }] of counted) {
    if (count > 1) ctx.notes.push(`Instance family ${family} is listed ${count === 2 ? "twice" : `${count} times`}`);
    checkFamily(raw, ctx);
  }
  if (ctx.spotOnly && counted.size === 1)
    ctx.notes.push("A single instance family limits Spot pool diversity; add families to lower interruption risk");
}

function checkDisk(draft: TemplateDraft, errors: string[], notes: string[]): void {
  if (draft.diskType !== undefined) {
    const type = draft.diskType.toLowerCase();
    if (HDD_VOLUME_TYPES.has(type)) errors.push(`disk_type ${type} cannot be a root volume (use gp3)`);
    else if (!BOOT_VOLUME_TYPES.has(type)) errors.push(`disk_type ${draft.diskType} is not an EBS volume type`);
  }
  if (draft.diskSizeGiB !== undefined) {
    if (!Number.isInteger(draft.diskSizeGiB) || draft.diskSizeGiB < MIN_DISK_GIB || draft.diskSizeGiB > MAX_DISK_GIB)
      errors.push(`disk_size must be an integer between ${MIN_DISK_GIB} and ${MAX_DISK_GIB} GiB`);
    else if (draft.diskSizeGiB < MIN_ROOT_DISK_GIB)
      notes.push(
        `disk_size ${draft.diskSizeGiB} GiB is below the ${MIN_ROOT_DISK_GIB} GiB an EKS AMI needs: ` +
          `nodes would fail to launch; use at least ${MIN_ROOT_DISK_GIB}`,
      );
  }
}

/**
 * Validates a template draft; never throws. With a catalog, families are checked against its instance types (exist,
 * have the architecture, have Spot offerings for a SPOT-only template); without one, by their names alone.
 */
export function validateTemplate(draft: TemplateDraft, catalog?: InstanceCatalog): TemplateValidation {
  const errors: string[] = [];
  const notes: string[] = [];
  let arch: Architecture | undefined;
  if (draft.architecture !== undefined) {
    arch = normaliseArchitecture(draft.architecture);
    if (arch === undefined) errors.push(`architecture ${draft.architecture} is not one of x86_64, arm64`);
  }
  const strategy = draft.strategy?.toUpperCase();
  if (strategy !== undefined && !["SPOT", "ON_DEMAND", "HYBRID"].includes(strategy))
    errors.push(`strategy ${draft.strategy} is not one of SPOT, ON_DEMAND, HYBRID`);
  checkFamilies(draft, { arch, spotOnly: strategy === "SPOT", catalog, errors, notes });
  checkDisk(draft, errors, notes);
  return {
    valid: errors.length === 0,
    warnings: [...errors, ...notes],
    errors,
    ...(arch ? { architecture: arch } : {}),
  };
}
