/**
 * Account export jobs in the control table: `TENANT#<tenant>` / `EXPORT#<id>`,
 * one item per job (ids, filter, position, counts; no personal data).
 */
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AccountExportJob, AccountExportStore } from '../../domain/account-export.js';

const pkOf = (tenantId: string): string => `TENANT#${tenantId}`;
const SK_PREFIX = 'EXPORT#';

export class DynamoAccountExportStore implements AccountExportStore {
  constructor(private readonly options: { readonly doc: DynamoDBDocumentClient; readonly tableName: string }) {}

  async put(job: AccountExportJob): Promise<void> {
    await this.options.doc.send(
      new PutCommand({ TableName: this.options.tableName, Item: { ...job, pk: pkOf(job.tenantId), sk: `${SK_PREFIX}${job.exportId}`, type: 'account_export' } }),
    );
  }

  async get(tenantId: string, exportId: string): Promise<AccountExportJob | undefined> {
    const out = await this.options.doc.send(
      new GetCommand({ TableName: this.options.tableName, Key: { pk: pkOf(tenantId), sk: `${SK_PREFIX}${exportId}` }, ConsistentRead: true }),
    );
    return out.Item === undefined ? undefined : strip(out.Item);
  }

  async list(tenantId: string, options: { readonly limit?: number } = {}): Promise<AccountExportJob[]> {
    const out = await this.options.doc.send(
      new QueryCommand({
        TableName: this.options.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pkOf(tenantId), ':prefix': SK_PREFIX },
        ScanIndexForward: false,
        Limit: options.limit ?? 50,
      }),
    );
    return (out.Items ?? []).map(strip);
  }
}

function strip(item: Record<string, unknown>): AccountExportJob {
  const { pk: _pk, sk: _sk, type: _type, ...job } = item;
  return job as unknown as AccountExportJob;
}
