// spotctl's dispatcher: global help, subcommand lookup, the exit codes (0 ok, 1 failure, 2 usage, 3 audit chain rebuilt).
import { UsageError, type CliCommandEntry, type CliIo } from "./command.js";

function globalHelp(commands: CliCommandEntry[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "spotctl — command-line tool of Spot Optimizer",
    "",
    "Usage: spotctl <command> [flags]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run `spotctl <command> --help` for a command's flags; `spotctl --version` prints the version.",
    "Exit codes: 0 success, 1 failure, 2 usage error or bad input.",
    "",
  ].join("\n");
}

const HELP_WORDS = new Set(["--help", "-h", "help"]);
const VERSION_FLAGS = new Set(["--version", "-V"]);

/** Runs spotctl with the given arguments and returns its exit code. */
export async function runCli(args: string[], commands: CliCommandEntry[], io: CliIo): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || HELP_WORDS.has(name)) {
    io.stdout(globalHelp(commands));
    return name === undefined ? 2 : 0;
  }
  // `spotctl --version` is what people type first; it is the version command under its usual flag.
  const entry = commands.find((c) => c.name === (VERSION_FLAGS.has(name) ? "version" : name));
  if (!entry) {
    io.stderr(`spotctl: unknown command "${name}" (see spotctl --help)\n`);
    return 2;
  }
  try {
    const command = await entry.load();
    if (rest.includes("--help") || rest.includes("-h")) {
      io.stdout(command.usage + "\n");
      return 0;
    }
    return await command.run(rest, io);
  } catch (err) {
    io.stderr(`spotctl ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
