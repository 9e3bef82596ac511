import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ROUTE_GROUPS, type RouteGroup } from '../../shared/app/api/contract.js';
import { ValidationError } from '../errors.js';
import { keepLogicalIdsOfChildren } from '../logical-ids.js';
import { STATE_MACHINE_VARIABLES, type FunctionAccess, type LetheRuntime, type StartableWorkflow } from './lethe-runtime.js';

/** The route groups the admin API can build: every group of the contract. */
export type AdminApiGroup = RouteGroup;

/** Every buildable group: all of {@link ROUTE_GROUPS}. */
export const ADMIN_API_GROUPS: readonly AdminApiGroup[] = ROUTE_GROUPS;

/** What one route group's function may touch and start, and why. */
export interface GroupAccess extends FunctionAccess {
  readonly description: string;
  /** The workflows whose executions it starts (it is told their ARNs). */
  readonly starts?: readonly StartableWorkflow[];
}

const CUSTOMER_OBJECTS =
  "The export links the customer's recordings, media and attachments, keyed <prefix>/<tenant>/<subject>/<id>, and the download route reads and opens them; " +
  'deleting a customer, conversation, message, attachment or recording, or anonymising a call or message, removes its blobs and every version of them.';
const DOWNLOADED_EXPORTS =
  'The download route (GET /v1/downloads/{token}) reads and opens the sealed access export a signed link names, exports/<tenant>/<requestId>.json, a key known only once the request exists.';
const INGESTED_OBJECTS = 'Ingest writes recordings, media and attachments (or pre-signs their upload URLs) under <prefix>/<tenant>/<subject>/<id>.';

/** Least privilege per route group (DESIGN.md §5). */
export const GROUP_ACCESS: Readonly<Record<AdminApiGroup, GroupAccess>> = {
  tenants: {
    description: 'registers, updates and lists tenants',
    tables: { control: { access: 'readWrite' } },
    readsReferenceSecret: true,
  },
  policy: {
    description: 'gets, previews and saves retention policies and their history',
    tables: {
      control: { access: 'readWrite' },
      records: {
        access: 'read',
        indexUse: 'Preview counts what a sweep would delete and hold by querying the byRetention index of the records table.',
      },
    },
    readsReferenceSecret: true,
    publishesEvents: true,
  },
  holds: {
    description: 'creates, lists and releases legal holds',
    tables: { control: { access: 'readWrite' } },
    // Applying and releasing run in the Hold workflow, not in the request.
    starts: ['hold'],
    readsReferenceSecret: true,
    publishesEvents: true,
  },
  customers: {
    description:
      'serves download links; looks up, exports and deletes customers, conversations, messages, attachments and recordings; anonymises one communication record; selects and deletes admin activity logs',
    tables: {
      control: { access: 'readWrite' },
      records: {
        access: 'readWrite',
        indexUse: 'Lookup by phone, e-mail or name and the deletion cascade find partitions through the byIdentifier index.',
      },
    },
    buckets: {
      recordings: { access: ['read', 'delete'], objectUse: CUSTOMER_OBJECTS },
      media: { access: ['read', 'delete'], objectUse: CUSTOMER_OBJECTS },
      exports: { access: ['read'], objectUse: DOWNLOADED_EXPORTS },
    },
    // The reference secret also keys the download links' signatures.
    readsReferenceSecret: true,
    starts: ['deletion'],
    // Manual deletions' RecordsDeleted and KeysShredded.
    publishesEvents: true,
  },
  ingest: {
    description: 'writes batches of typed records and their blobs',
    tables: {
      control: { access: 'readWrite' },
      records: {
        access: 'readWrite',
        indexUse:
          "CDK's records-table grant always covers the table's indexes; ingest itself only gets and batch-writes items by key, and DynamoDB maintains the byRetention and byIdentifier entries those items carry.",
      },
    },
    buckets: {
      recordings: { access: ['put'], objectUse: INGESTED_OBJECTS },
      media: { access: ['put'], objectUse: INGESTED_OBJECTS },
    },
    readsReferenceSecret: true,
  },
  runs: {
    description: 'lists, reads and starts deletion runs',
    tables: { control: { access: 'readWrite' } },
    starts: ['sweep'],
    readsReferenceSecret: true,
  },
  privacy: {
    description: 'accepts, lists and reads privacy requests (erasure, access, anonymisation) and previews a bulk erasure',
    tables: {
      control: { access: 'readWrite' },
      records: {
        access: 'read',
        indexUse:
          "A privacy request resolves its subject through the byIdentifier index (phone, e-mail, name) before it is accepted; a bulk erasure's preview pages through the customers of the byRetention index and reads their partitions (a dry run, nothing written).",
      },
    },
    starts: ['privacy'],
    readsReferenceSecret: true,
  },
  audit: {
    description: 'lists audit events',
    tables: { control: { access: 'read' } },
    readsReferenceSecret: true,
  },
  openapi: {
    description: 'serves the OpenAPI document',
  },
};

export interface AdminGroupAccessProps {
  readonly runtime: LetheRuntime;
  /** The state machines a group may start, by workflow. */
  readonly stateMachines: Readonly<Record<StartableWorkflow, IStateMachine>>;
  /** The route groups to build, one function each. */
  readonly groups: readonly AdminApiGroup[];
}

/**
 * One function per route group of the admin API (functions/api-<group>), each
 * with only the table, bucket and state-machine access its routes use
 * ({@link GROUP_ACCESS}).
 */
export class AdminGroupAccess extends Construct {
  /** One function per built group. */
  readonly functions: Readonly<Partial<Record<AdminApiGroup, IFunction>>>;

  constructor(scope: Construct, id: string, props: AdminGroupAccessProps) {
    super(scope, id);
    // The functions were the admin API's own before this construct gathered them.
    keepLogicalIdsOfChildren(this);
    const functions: Partial<Record<AdminApiGroup, IFunction>> = {};
    for (const group of props.groups) {
      const { description, starts = [], ...access } = GROUP_ACCESS[group];
      const fn = props.runtime.newFunction(this, `${pascalCase(group)}Function`, {
        functionDir: `api-${group}`,
        description: `Lethe admin API: ${description}`,
        // Any answer of the API may carry a download link (exports, access requests); the URL grants nothing.
        access: { ...access, buildsDownloadLinks: true },
      });
      for (const workflow of starts) {
        fn.bindStateMachine(props.stateMachines[workflow], { envVar: STATE_MACHINE_VARIABLES[workflow], access: 'start' });
      }
      functions[group] = fn.function;
    }
    this.functions = functions;
  }

  /** The function of a built group. */
  functionOf(group: AdminApiGroup): IFunction {
    const fn = this.functions[group];
    if (fn === undefined) throw new ValidationError(`the ${group} group is not built`, this);
    return fn;
  }
}

function pascalCase(value: string): string {
  return value[0]!.toUpperCase() + value.slice(1);
}
