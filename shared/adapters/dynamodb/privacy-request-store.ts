/**
 * Privacy requests and their idempotency keys in the control table:
 *
 * | pk           | sk                   | holds                                      |
 * |--------------|----------------------|--------------------------------------------|
 * | `TENANT#<t>` | `PRIVREQ#<requestId>`| the request (ids and counts, no contact data) |
 * | `TENANT#<t>` | `IDEMP#<sha256(key)>`| the request id a client's Idempotency-Key bound |
 */
import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PrivacyRequestStore } from '../../domain/ports.js';
import type { PrivacyRequest } from '../../domain/privacy/request.js';
import { errorName } from '../retry.js';

const pkOf = (tenantId: string) => `TENANT#${tenantId}`;
const REQUEST_PREFIX = 'PRIVREQ#';

export interface DynamoPrivacyRequestStoreOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
}

export class DynamoPrivacyRequestStore implements PrivacyRequestStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: DynamoPrivacyRequestStoreOptions) {
    this.doc = options.doc;
    this.tableName = options.tableName;
  }

  async put(request: PrivacyRequest): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: pkOf(request.tenantId), sk: `${REQUEST_PREFIX}${request.requestId}`, type: 'privacyRequest', request },
      }),
    );
  }

  async get(tenantId: string, requestId: string): Promise<PrivacyRequest | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: pkOf(tenantId), sk: `${REQUEST_PREFIX}${requestId}` }, ConsistentRead: true }),
    );
    return (out.Item as { request?: PrivacyRequest } | undefined)?.request;
  }

  async list(tenantId: string, options: { readonly limit?: number } = {}): Promise<PrivacyRequest[]> {
    const out: PrivacyRequest[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pkOf(tenantId), ':prefix': REQUEST_PREFIX },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) out.push((item as { request: PrivacyRequest }).request);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    out.sort((a, b) => (a.receivedAt < b.receivedAt ? 1 : a.receivedAt > b.receivedAt ? -1 : 0));
    return options.limit === undefined ? out : out.slice(0, options.limit);
  }

  async claimIdempotencyKey(tenantId: string, key: string, requestId: string): Promise<string> {
    const sk = `IDEMP#${createHash('sha256').update(key).digest('base64url')}`;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: pkOf(tenantId), sk, type: 'idempotencyKey', requestId },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return requestId;
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      const existing = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: pkOf(tenantId), sk }, ConsistentRead: true }));
      return (existing.Item as { requestId: string }).requestId;
    }
  }
}
