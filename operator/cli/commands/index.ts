// Registry of spotctl subcommands: add one import and one array entry per command.
import type { CliCommand } from "../command.js";
import { auditCommand } from "./audit.js";
import { scheduleCommand } from "./schedule.js";
import { planCommand } from "./plan.js";
import { renderCommand } from "./render.js";
import { versionCommand } from "./version.js";

export const commands: CliCommand[] = [versionCommand, scheduleCommand, auditCommand, planCommand, renderCommand];
