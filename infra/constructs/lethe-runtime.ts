import type { Duration } from 'aws-cdk-lib';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { TableDefinition } from '../../shared/adapters/table-definitions.js';
import type { BucketName } from '../../shared/domain/catalog.js';
import type { PlatformPolicy } from '../../shared/domain/policy.js';
import { ValidationError } from '../errors.js';
import type { BlobBuckets } from './blob-buckets.js';
import { EVENT_BUS_VARIABLE } from './event-bus.js';
import { LetheFunction, type BucketGrant, type LetheFunctionProps } from './lethe-function.js';
import type { DataAccess, LetheTable } from './lethe-table.js';

export type TableId = TableDefinition['id'];

/** The variable of each table's name, as shared/config/lambda-env.ts reads it. */
export const TABLE_VARIABLES: Readonly<Record<TableId, string>> = {
  records: 'RECORDS_TABLE',
  control: 'CONTROL_TABLE',
  keys: 'KEYS_TABLE',
};

/** The variable of each bucket's name, as shared/config/lambda-env.ts reads it. */
export const BUCKET_VARIABLES: Readonly<Record<BucketName, string>> = {
  recordings: 'RECORDINGS_BUCKET',
  media: 'MEDIA_BUCKET',
  exports: 'EXPORTS_BUCKET',
};

/** The variable of each state machine's ARN, read only by the functions that start it. */
export const STATE_MACHINE_VARIABLES = {
  sweep: 'SWEEP_STATE_MACHINE_ARN',
  privacy: 'PRIVACY_STATE_MACHINE_ARN',
  hold: 'HOLD_STATE_MACHINE_ARN',
  deletion: 'DELETION_STATE_MACHINE_ARN',
} as const;

/** A state machine a function may be told to start. */
export type StartableWorkflow = keyof typeof STATE_MACHINE_VARIABLES;

export const REFERENCE_SECRET_VARIABLE = 'REF_SECRET_ARN';
export const MAIL_FROM_VARIABLE = 'MAIL_FROM';
/** ARN of the KMS key that wraps tenants' key-encryption keys; set only where personal data is sealed or opened. */
export const SHREDDING_KEY_VARIABLE = 'SHREDDING_KEY_ARN';
/** Base URL of the admin API (no trailing slash), for the download links a function builds. */
export const PUBLIC_API_URL_VARIABLE = 'PUBLIC_API_URL';

export interface TableUse {
  readonly access: DataAccess;
  /** Why the function queries the table's indexes; required for a table with indexes (see `LetheFunction.bindTable`). */
  readonly indexUse?: string;
}

export interface BucketUse {
  readonly access: readonly BucketGrant[];
  /** Why the function touches the bucket's objects (the acknowledgement of `<bucket>/*`). */
  readonly objectUse: string;
}

/**
 * What one function may do with the stores and services every function is
 * told about, and why. Anything not listed is told by name only.
 */
export interface FunctionAccess {
  /**
   * The records and control tables. The keys table is not listed here: it
   * comes with {@link sealsPersonalData}.
   * @default - no table access
   */
  readonly tables?: Readonly<Partial<Record<Exclude<TableId, 'keys'>, TableUse>>>;
  /** @default - no object access */
  readonly buckets?: Readonly<Partial<Record<BucketName, BucketUse>>>;
  /**
   * Reads the key of the HMACs that stand for subjects and actors (whatever writes receipts or audit events).
   * @default false
   */
  readonly readsReferenceSecret?: boolean;
  /**
   * Sends e-mail through SES, as the configured sender only.
   * @default false
   */
  readonly sendsMail?: boolean;
  /**
   * Seals and opens personal data under the keys of the keys table
   * (crypto-shredding): read/write on the keys table, and the shredding key's
   * ARN with `kms:GenerateDataKey`/`kms:Decrypt` for its `lethe-kek` purpose.
   * Whatever reads or writes records does (their personal fields are sealed),
   * and cannot be told otherwise.
   * @default true for a function with records access, false otherwise
   */
  readonly sealsPersonalData?: boolean;
  /**
   * Builds download links (`<PUBLIC_API_URL>/v1/downloads/<token>`): told the
   * admin API's base URL once the API exists ({@link LetheRuntime.serveDownloadsAt}).
   * @default false
   */
  readonly buildsDownloadLinks?: boolean;
  /**
   * Publishes deletion events: told the bus's name (`EVENT_BUS_NAME`) and
   * granted `events:PutEvents` on that bus only (DESIGN.md §4).
   * @default false
   */
  readonly publishesEvents?: boolean;
}

export interface LetheRuntimeProps {
  readonly records: LetheTable;
  readonly control: LetheTable;
  readonly keys: LetheTable;
  readonly blobs: BlobBuckets;
  /** Wraps tenants' key-encryption keys (crypto-shredding); only functions that seal personal data may use it. */
  readonly shreddingKey: IKey;
  /** Key of the HMACs that stand for data subjects and actors in receipts and audit events. */
  readonly referenceSecret: ISecret;
  readonly platformPolicy: PlatformPolicy;
  /** Operators who receive every critical alert, besides each tenant's admins. */
  readonly operatorEmails: readonly string[];
  /** Verified SES sender address of alert and confirmation e-mails. */
  readonly mailFrom: string;
  /** Time one sweep stage chunk works before handing back a continuation. */
  readonly stageBudget: Duration;
  /**
   * The bus deletion events go to; required once a function publishes.
   * @default - none: no function may publish
   */
  readonly eventBus?: IEventBus;
}

/**
 * The contract between the CDK app and the Lambda runtime
 * (shared/config/lambda-env.ts): every Lethe function is told every table,
 * bucket, the reference key, the sender and the settings, because the runtime
 * config requires them all at load; it is granted only what its
 * {@link FunctionAccess} declares. The shredding key's ARN and the API's URL
 * are told only to the functions that use them. A service makes its functions here.
 */
export class LetheRuntime {
  readonly platformPolicy: PlatformPolicy;
  readonly stageBudget: Duration;
  private publicApiUrl: string | undefined;
  /** Functions that build download links, made before the API's URL was known. */
  private readonly awaitingApiUrl: LetheFunction[] = [];

  constructor(private readonly props: LetheRuntimeProps) {
    this.platformPolicy = props.platformPolicy;
    this.stageBudget = props.stageBudget;
  }

  /** A LetheFunction told the whole contract, with the grants `access` declares. */
  newFunction(scope: Construct, id: string, props: Omit<LetheFunctionProps, 'environment'> & { readonly access: FunctionAccess }): LetheFunction {
    const { access, ...functionProps } = props;
    const fn = new LetheFunction(scope, id, { ...functionProps, environment: this.settings() });
    this.bind(fn, access);
    return fn;
  }

  /** Binds every store of the contract to `fn`: each name in its environment, a grant only where `access` asks. */
  bind(fn: LetheFunction, access: FunctionAccess): void {
    const seals = sealsPersonalData(fn, access);
    const tables: Record<TableId, LetheTable> = { records: this.props.records, control: this.props.control, keys: this.props.keys };
    for (const [id, table] of Object.entries(tables) as [TableId, LetheTable][]) {
      const use: TableUse | undefined = id === 'keys' ? (seals ? { access: 'readWrite' } : undefined) : access.tables?.[id];
      fn.bindTable(table, {
        envVar: TABLE_VARIABLES[id],
        access: use?.access ?? 'none',
        ...(use?.indexUse === undefined ? {} : { indexUse: use.indexUse }),
      });
    }
    for (const name of Object.keys(BUCKET_VARIABLES) as BucketName[]) {
      const use = access.buckets?.[name];
      fn.bindBucket(this.props.blobs, name, {
        envVar: BUCKET_VARIABLES[name],
        access: use?.access ?? [],
        ...(use === undefined ? {} : { objectUse: use.objectUse }),
      });
    }
    fn.bindSecret(this.props.referenceSecret, { envVar: REFERENCE_SECRET_VARIABLE, access: access.readsReferenceSecret === true ? 'read' : 'none' });
    fn.bindMailSender(this.props.mailFrom, { envVar: MAIL_FROM_VARIABLE, access: access.sendsMail === true ? 'send' : 'none' });
    if (seals) fn.bindShreddingKey(this.props.shreddingKey, { envVar: SHREDDING_KEY_VARIABLE });
    if (access.buildsDownloadLinks === true) this.tellApiUrl(fn);
    if (access.publishesEvents === true) {
      if (this.props.eventBus === undefined) throw new ValidationError('publishesEvents: the runtime has no event bus (LetheRuntimeProps.eventBus)', fn);
      fn.bindEventBus(this.props.eventBus, { envVar: EVENT_BUS_VARIABLE });
    }
  }

  /**
   * The admin API's base URL (no trailing slash), told to every function that
   * builds download links, made before or after. Once per runtime. A function
   * that builds links in an app that never calls this fails synth.
   */
  serveDownloadsAt(url: string): void {
    if (this.publicApiUrl !== undefined) throw new ValidationError('serveDownloadsAt: the API URL is given once');
    this.publicApiUrl = url;
    for (const fn of this.awaitingApiUrl.splice(0)) fn.bindApiUrl(url, { envVar: PUBLIC_API_URL_VARIABLE });
  }

  private tellApiUrl(fn: LetheFunction): void {
    if (this.publicApiUrl !== undefined) {
      fn.bindApiUrl(this.publicApiUrl, { envVar: PUBLIC_API_URL_VARIABLE });
      return;
    }
    this.awaitingApiUrl.push(fn);
    fn.node.addValidation({
      validate: () =>
        this.publicApiUrl === undefined
          ? [`${PUBLIC_API_URL_VARIABLE}: the function builds download links but no API URL was given (LetheRuntime.serveDownloadsAt)`]
          : [],
    });
  }

  /** The variables that are settings, not bindings. */
  private settings(): Record<string, string> {
    return {
      PLATFORM_POLICY: JSON.stringify(this.props.platformPolicy),
      OPERATOR_EMAILS: this.props.operatorEmails.join(','),
      STAGE_BUDGET_MS: String(this.props.stageBudget.toMilliseconds()),
    };
  }
}

/** Whether `fn` seals personal data: whatever touches records must, and may not say otherwise. */
function sealsPersonalData(fn: LetheFunction, access: FunctionAccess): boolean {
  if ((access.tables as Partial<Record<TableId, TableUse>> | undefined)?.keys !== undefined) {
    throw new ValidationError('tables.keys: the keys table comes with sealsPersonalData, not on its own', fn);
  }
  const touchesRecords = access.tables?.records !== undefined;
  if (touchesRecords && access.sealsPersonalData === false) {
    throw new ValidationError("sealsPersonalData: a function with records access reads or writes sealed personal data; it cannot go without the keys", fn);
  }
  return access.sealsPersonalData ?? touchesRecords;
}
