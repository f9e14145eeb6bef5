// spotctl entrypoint: wires the real process streams and exit code to the dispatcher.
import { commands } from "./commands/index.js";
import { runCli } from "./main.js";

const code = await runCli(process.argv.slice(2), commands, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
process.exitCode = code;
