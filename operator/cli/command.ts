// The shape every spotctl subcommand implements, and the usage error that maps to exit code 2.

/** A bad invocation or bad input file: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** `-` names no file here (kubectl's spelling of stdin): said so, instead of ENOENT for a file called "-". */
export function refuseStdin(flag: string, path: string): void {
  if (path === "-") throw new UsageError(`${flag} -: reading from stdin is not supported; give a file`);
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** A subcommand's behaviour, in its own module so that a run loads only the command it runs. */
export interface CliCommand {
  /** Full usage text for `spotctl <name> --help`. */
  usage: string;
  /** Returns the process exit code; throws UsageError for bad input. */
  run: (args: string[], io: CliIo) => Promise<number>;
}

/** A subcommand as the dispatcher lists it: known without loading its module. */
export interface CliCommandEntry {
  /** First word after `spotctl`, e.g. `plan` or `schedule`. */
  name: string;
  /** One line for `spotctl --help`. */
  summary: string;
  load: () => Promise<CliCommand>;
}

/** Reads `--flag value` / `--flag=value` pairs and bare booleans; repeated flags accumulate. */
export function parseFlags(
  args: string[],
  spec: { values: string[]; booleans?: string[] },
): { flags: Map<string, string[]>; positional: string[] } {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  const booleans = new Set(spec.booleans ?? []);
  const values = new Set(spec.values);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (booleans.has(name)) {
      flags.set(name, ["true"]);
      continue;
    }
    if (!values.has(name)) throw new UsageError(`unknown flag --${name}`);
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`flag --${name} needs a value`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { flags, positional };
}
