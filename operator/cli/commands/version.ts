// `spotctl version`: prints the package version and the runtime it runs on.
import { readFileSync } from "node:fs";
import { UsageError, type CliCommand } from "../command.js";

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export const versionCommand: CliCommand = {
  usage: "spotctl version\n\nPrints the version of spotctl and of Node.js as JSON.",
  run: async (args, io) => {
    // A typo such as `spotctl version --jsno` is a usage error, not silently ignored.
    if (args.length > 0) throw new UsageError(`version takes no arguments, got "${args[0]}"`);
    io.stdout(JSON.stringify({ spotctl: packageVersion(), node: process.version }) + "\n");
    return 0;
  },
};
