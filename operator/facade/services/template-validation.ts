// Static compatibility checks for a node template (families × architecture × disk), used by POST /templates/validate
// and before a NodeTemplate is created, so the dashboard learns about conflicts before Karpenter does.

export type Architecture = "x86_64" | "arm64";

export interface TemplateDraft {
  families?: readonly string[];
  architecture?: string;
  strategy?: string;
  diskType?: string;
  diskSizeGiB?: number;
}

export interface TemplateValidation {
  valid: boolean;
  /** Every finding, blocking or not, in the catalogue's `warnings` field. */
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
const MIN_ROOT_DISK_GIB = 20;
const MAX_DISK_GIB = 16_384;

/** Maps the spellings dashboards send (ARM64, aarch64, amd64, X86_64) to the NodeTemplate enum. */
export function normaliseArchitecture(value: string): Architecture | undefined {
  const v = value.trim().toLowerCase();
  if (v === "arm64" || v === "aarch64" || v === "arm") return "arm64";
  if (v === "x86_64" || v === "amd64" || v === "x86-64" || v === "x86") return "x86_64";
  return undefined;
}

/** The CPU architecture an EC2 instance family runs on, or undefined when the name is not a family name. */
export function familyArchitecture(family: string): Architecture | undefined {
  if (!FAMILY_PATTERN.test(family) || !/\d/.test(family)) return undefined;
  return ARM_FAMILY.test(family) ? "arm64" : "x86_64";
}

function checkFamily(
  raw: string,
  ctx: { arch: Architecture | undefined; spot: boolean },
  errors: string[],
  notes: string[],
): void {
  const family = raw.trim().toLowerCase();
  const familyArch = familyArchitecture(family);
  if (familyArch === undefined) {
    errors.push(`"${raw}" is not an EC2 instance family name (e.g. m5, c7g)`);
    return;
  }
  if (ctx.arch !== undefined && familyArch !== ctx.arch)
    errors.push(`Instance type ${family} is incompatible with ${ctx.arch === "arm64" ? "ARM64" : "x86_64"}`);
  if (ctx.spot && ACCELERATED_FAMILY.test(family))
    notes.push(`Instance family ${family} is accelerated: Spot capacity for it is scarce and interrupted often`);
}

function checkFamilies(draft: TemplateDraft, arch: Architecture | undefined, errors: string[], notes: string[]): void {
  const families = draft.families ?? [];
  const spot = draft.strategy?.toUpperCase() === "SPOT";
  if (families.length === 0) errors.push("families must name at least one instance family");
  const seen = new Set<string>();
  for (const raw of families) {
    const family = raw.trim().toLowerCase();
    if (seen.has(family)) notes.push(`Instance family ${family} is listed twice`);
    seen.add(family);
    checkFamily(raw, { arch, spot }, errors, notes);
  }
  if (spot && seen.size === 1)
    notes.push("A single instance family limits Spot pool diversity; add families to lower interruption risk");
}

function checkDisk(draft: TemplateDraft, errors: string[], notes: string[]): void {
  if (draft.diskType !== undefined) {
    const type = draft.diskType.toLowerCase();
    if (HDD_VOLUME_TYPES.has(type)) errors.push(`disk_type ${type} cannot be a root volume (use gp3)`);
    else if (!BOOT_VOLUME_TYPES.has(type)) errors.push(`disk_type ${draft.diskType} is not an EBS volume type`);
  }
  if (draft.diskSizeGiB !== undefined) {
    if (!Number.isInteger(draft.diskSizeGiB) || draft.diskSizeGiB < 1 || draft.diskSizeGiB > MAX_DISK_GIB)
      errors.push(`disk_size must be an integer between 1 and ${MAX_DISK_GIB} GiB`);
    else if (draft.diskSizeGiB < MIN_ROOT_DISK_GIB)
      notes.push(`disk_size ${draft.diskSizeGiB} GiB is below the ${MIN_ROOT_DISK_GIB} GiB an EKS AMI needs`);
  }
}

/** Validates a template draft; never throws. */
export function validateTemplate(draft: TemplateDraft): TemplateValidation {
  const errors: string[] = [];
  const notes: string[] = [];
  let arch: Architecture | undefined;
  if (draft.architecture !== undefined) {
    arch = normaliseArchitecture(draft.architecture);
    if (arch === undefined) errors.push(`architecture ${draft.architecture} is not one of x86_64, arm64`);
  }
  if (draft.strategy !== undefined && !["SPOT", "ON_DEMAND", "HYBRID"].includes(draft.strategy.toUpperCase()))
    errors.push(`strategy ${draft.strategy} is not one of SPOT, ON_DEMAND, HYBRID`);
  checkFamilies(draft, arch, errors, notes);
  checkDisk(draft, errors, notes);
  return {
    valid: errors.length === 0,
    warnings: [...errors, ...notes],
    errors,
    ...(arch ? { architecture: arch } : {}),
  };
}
