// JSON logging for every process (pino): one root logger per process, child loggers per component.
import { pino, type Logger } from "pino";

/**
 * Paths redacted from every log line: credentials never reach the logs. Request and response headers for the HTTP
 * access logs, request bodies of the password and token routes, and credential fields wherever a line names them.
 */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'res.headers["set-cookie"]',
  "req.body.password",
  "req.body.new_password",
  "req.body.current_password",
  "req.body.refresh_token",
  "req.body.token",
  "req.body.client_secret",
  "client_secret",
  "*.client_secret",
  "password",
  "*.password",
  "token",
  "*.token",
  "refresh_token",
  "*.refresh_token",
  "access_token",
  "*.access_token",
];

/** The process's root logger; level from LOG_LEVEL (default info); with `tap`, every line also goes there. */
export function createLogger(
  component: string,
  env: NodeJS.ProcessEnv = process.env,
  tap?: { write(line: string): void },
): Logger {
  const level = env.LOG_LEVEL ?? "info";
  const options = { level, base: { component }, redact: REDACTED_PATHS };
  if (!tap) return pino(options);
  return pino(
    options,
    pino.multistream([
      { level, stream: process.stdout },
      { level, stream: tap },
    ]),
  );
}
