/**
 * Where the managed login sends `lethe login` back to: a loopback URL on one
 * of a few fixed ports. Cognito matches callback URLs exactly (no port
 * wildcard) and allows plain http only for `localhost`, so the app client
 * (infra/constructs/admin-user-pool.ts) lists each of these and the CLI
 * listens on the first one free. Kept apart from cli/login.ts so the infra
 * can import it without the CLI.
 */

/** Loopback ports `lethe login` tries, in order. */
export const LOGIN_CALLBACK_PORTS: readonly number[] = [42813, 42814, 42815];

/** The redirect URI for a port: `http://localhost:<port>/callback`. */
export function loginCallbackUrl(port: number): string {
  return `http://localhost:${port}/callback`;
}

/** Every callback URL the app client must allow for the CLI. */
export const LOGIN_CALLBACK_URLS: readonly string[] = LOGIN_CALLBACK_PORTS.map(loginCallbackUrl);
