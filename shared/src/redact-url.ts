/** What a password in a URL is shown as. */
export const HIDDEN_PASSWORD = '***';

/**
 * The URL as it may be logged or printed: its password replaced by `***` (the user name
 * stays: it says which ACL user is meant). REDIS_URL holds the password of a deployment's
 * Redis; no log line or CLI output may show it.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not a URL at all: whatever sits between `//` and `@` may still be a password.
    return text.replace(/\/\/[^/@]*@/, `//${HIDDEN_PASSWORD}@`);
  }
  if (url.password) url.password = HIDDEN_PASSWORD;
  return url.href;
}
