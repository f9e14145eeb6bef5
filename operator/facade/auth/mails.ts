// The texts of the mails the auth service sends: a signup's verification code, an invite, an "account exists" notice.
import type { MailMessage } from "../mail.js";

export function signupMail(
  to: string,
  code: string,
  publicUrl: string,
  asked: { orgName: string; at: string },
): MailMessage {
  return {
    to,
    subject: "Verify your email address for Spot Optimizer",
    text: [
      `Someone (hopefully you) signed up for Spot Optimizer with this address, for the organisation "${asked.orgName}", at ${asked.at}.`,
      `Your verification code: ${code}`,
      `It works once, within 24 hours, with the password chosen at signup: POST {"token": "<code>", "password": "<password>"} to ${publicUrl}/api/auth/verify-email.`,
      "If this was not you, ignore this mail: nothing is created without the code and that password.",
    ].join("\n"),
  };
}

export function inviteMail(input: {
  to: string;
  code: string;
  org: string;
  role: string;
  publicUrl: string;
}): MailMessage {
  return {
    to: input.to,
    subject: `You are invited to ${input.org} on Spot Optimizer`,
    text: [
      `You are invited to join ${input.org} as ${input.role}.`,
      `Your invite code: ${input.code}`,
      `It works once, within 7 days: POST {"invite_token": "<code>", "password": "<choose one>"} to ${input.publicUrl}/api/auth/accept-invite.`,
    ].join("\n"),
  };
}

/** Sent instead of a code when the address already has an account: only its owner learns that. */
export function accountExistsMail(to: string, publicUrl: string): MailMessage {
  return {
    to,
    subject: "You already have a Spot Optimizer account",
    text: [
      "Someone asked to create a Spot Optimizer account for this address (a signup or an invite), but it already has one;",
      `nothing was changed. Sign in at ${publicUrl}. An account belongs to one organisation.`,
      "If this was not you, ignore this mail.",
    ].join("\n"),
  };
}
