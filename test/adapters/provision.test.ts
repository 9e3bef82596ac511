import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { provisionBuckets, provisionTables } from '../../shared/adapters/provision.js';
import { RECORDS_TABLE } from '../../shared/adapters/table-definitions.js';
import { emulatorClients, uniqueNames } from '../support/env.js';

describe('provisioning on the emulators', () => {
  it('creates the records table on demand with both indexes and their projections', async () => {
    const { dynamo } = emulatorClients();
    const { tableNames } = uniqueNames();

    await provisionTables(dynamo, tableNames);

    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: tableNames.records }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    const indexes = Object.fromEntries((Table?.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i]));
    for (const definition of RECORDS_TABLE.globalSecondaryIndexes) {
      const index = indexes[definition.indexName];
      expect(index?.KeySchema).toEqual([
        { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: definition.sortKey.name, KeyType: 'RANGE' },
      ]);
      expect(index?.Projection?.ProjectionType).toBe('INCLUDE');
      expect([...(index?.Projection?.NonKeyAttributes ?? [])].sort()).toEqual([...definition.projection].sort());
    }
  });

  it('leaves existing tables and buckets alone when run again', async () => {
    const { dynamo, s3 } = emulatorClients();
    const { tableNames, bucketNames } = uniqueNames();
    await provisionTables(dynamo, tableNames);
    await provisionBuckets(s3, bucketNames);

    const again = Promise.all([provisionTables(dynamo, tableNames), provisionBuckets(s3, bucketNames)]);

    await expect(again).resolves.toBeDefined();
    await expect(s3.send(new HeadBucketCommand({ Bucket: bucketNames.media }))).resolves.toBeDefined();
  });
});
