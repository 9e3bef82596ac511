/**
 * Local mode's secrets, generated once per data directory and kept in one file
 * readable by its owner only (0600): the master key that stands in for KMS, the
 * secret of the keyed HMAC subject references, and the HS256 key of dev tokens.
 * In AWS these come from KMS and Secrets Manager. The master key wraps every
 * tenant's key-encryption key (crypto-shredding): losing the file loses every
 * personal field and blob the data directory holds, for good. Keep it with the
 * data directory, and nowhere else.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SECRETS_FILE = 'secrets.json';

export interface LocalSecrets {
  /** 32 bytes: wraps per-subject data keys (crypto-shredding) where KMS would. */
  readonly masterKey: Uint8Array;
  /** Secret of the keyed HMACs in receipts and audit events. */
  readonly refSecret: string;
  /** HS256 key of the dev tokens the local server accepts. */
  readonly devTokenKey: Uint8Array;
}

interface SecretsFile {
  readonly version: 1;
  readonly masterKey: string;
  readonly refSecret: string;
  readonly devTokenKey: string;
}

export class MissingSecretsError extends Error {
  override readonly name = 'MissingSecretsError';
}

export function secretsPath(dataDir: string): string {
  return join(dataDir, SECRETS_FILE);
}

function decode(file: SecretsFile): LocalSecrets {
  const masterKey = Buffer.from(file.masterKey, 'base64url');
  const devTokenKey = Buffer.from(file.devTokenKey, 'base64url');
  if (file.version !== 1 || masterKey.length !== 32 || devTokenKey.length < 32 || file.refSecret.length < 32) {
    throw new Error('the local secrets file is damaged; move it away to generate new secrets');
  }
  return { masterKey, refSecret: file.refSecret, devTokenKey };
}

/** Reads the data directory's secrets; throws `MissingSecretsError` when there are none yet. */
export async function readLocalSecrets(dataDir: string): Promise<LocalSecrets> {
  const path = secretsPath(dataDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MissingSecretsError(`no local secrets at ${path}; start local mode once (npm start) or pass --data-dir`);
    }
    throw error;
  }
  return decode(JSON.parse(text) as SecretsFile);
}

/** Reads the secrets, generating them on first use; keeps the file at 0600. */
export async function loadOrCreateLocalSecrets(dataDir: string): Promise<LocalSecrets> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = secretsPath(dataDir);
  const fresh: SecretsFile = {
    version: 1,
    masterKey: randomBytes(32).toString('base64url'),
    refSecret: randomBytes(48).toString('base64url'),
    devTokenKey: randomBytes(32).toString('base64url'),
  };
  try {
    // 'wx': two starts racing on one data dir both end up with the first one's secrets.
    await writeFile(path, `${JSON.stringify(fresh, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
    return decode(fresh);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
  return readLocalSecrets(dataDir);
}
