// Outgoing mail (signup verification, invites) behind one interface; the outbox transport appends to a 0600 file.
import { chmod, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "pino";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  /** Resolves once the message is handed over; throws when it could not be. */
  send(message: MailMessage): Promise<void>;
}

/**
 * Local mode and installations without a mail provider: each message is one JSON line `{at, to, subject, text}` in
 * a file only the facade's user may read (0600, directory 0700), since it carries one-time codes. The log names the
 * file and the subject, never the text.
 */
export function createOutboxMailer(path: string, logger?: Logger, now: () => Date = () => new Date()): Mailer {
  let queue: Promise<void> = Promise.resolve();
  const append = async (line: string): Promise<void> => {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const file = await open(path, "a", 0o600);
    try {
      await file.write(line);
    } finally {
      await file.close();
    }
    // A file created by someone else (or before this rule) is narrowed too.
    await chmod(path, 0o600);
  };
  return {
    send(message) {
      const line = `${JSON.stringify({ at: now().toISOString(), ...message })}\n`;
      const written = queue.then(() => append(line));
      queue = written.catch(() => undefined);
      return written.then(() => logger?.info({ outbox: path, subject: message.subject }, "Mail written to the outbox"));
    },
  };
}
