/**
 * Tenants' key-encryption keys wrapped by the deployment's shredding KMS key:
 * one GenerateDataKey when a tenant's first key is made, one Decrypt per
 * container and tenant every few minutes (the key store keeps the result).
 * The tenant is the encryption context, so a wrapped key moved to another
 * tenant's row does not unwrap, and CloudTrail names the tenant of each call.
 */
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { KeyWrapper } from './key-store.js';

export class KmsKeyWrapper implements KeyWrapper {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async generate(tenantId: string): Promise<{ readonly plaintext: Uint8Array; readonly wrapped: Uint8Array }> {
    const output = await this.kms.send(
      new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: { tenant: tenantId, purpose: 'lethe-kek' } }),
    );
    if (output.Plaintext === undefined || output.CiphertextBlob === undefined) throw new Error('KMS returned no data key');
    return { plaintext: output.Plaintext, wrapped: output.CiphertextBlob };
  }

  async unwrap(tenantId: string, wrapped: Uint8Array): Promise<Uint8Array> {
    const output = await this.kms.send(
      new DecryptCommand({ KeyId: this.keyId, CiphertextBlob: wrapped, EncryptionContext: { tenant: tenantId, purpose: 'lethe-kek' } }),
    );
    if (output.Plaintext === undefined) throw new Error('KMS returned no plaintext');
    return output.Plaintext;
  }
}
