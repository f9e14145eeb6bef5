// Whether AWS credentials are configured, decided from the environment alone so callers can skip loading the SDK.

/** Whether the environment names AWS credentials the SDK's default chain can use. */
export function hasAwsCredentials(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(
    env.AWS_ACCESS_KEY_ID ||
    env.AWS_PROFILE ||
    env.AWS_WEB_IDENTITY_TOKEN_FILE ||
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
    env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
  );
}
