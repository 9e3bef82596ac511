import { Duration, Stack, type CfnElement, type StackProps } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { GUARDED_BUCKETS } from '../shared/app/blob-guard.js';
import type { PlatformPolicy } from '../shared/domain/policy.js';
import { acknowledge } from './acknowledgements.js';
import { actionRolesOf } from '../shared/domain/roles.js';
import { AdminApi, type AdminApiProps } from './constructs/admin-api.js';
import { AdminConsole } from './constructs/admin-console.js';
import { BlobGuardService } from './constructs/blob-guard-service.js';
import { LetheRuntime } from './constructs/lethe-runtime.js';
import { LetheMonitoring } from './constructs/monitoring.js';
import { DeletionService } from './constructs/deletion-service.js';
import { HoldService } from './constructs/hold-service.js';
import { PrivacyService } from './constructs/privacy-service.js';
import { SweepService } from './constructs/sweep-service.js';
import { ValidationError } from './errors.js';
import { groupedLogicalId, isUnderGrouping } from './logical-ids.js';
import type { StatefulStack } from './stateful-stack.js';

export interface StatelessStackProps extends StackProps {
  readonly stateful: StatefulStack;
  readonly platformPolicy: PlatformPolicy;
  /** Operators who receive every critical alert, besides each tenant's admins. */
  readonly operatorEmails: readonly string[];
  /** Verified SES sender address of alert and confirmation e-mails. */
  readonly mailFrom: string;
  /**
   * Time one stage chunk works before handing back a continuation.
   * @default Duration.minutes(4)
   */
  readonly stageBudget?: Duration;
  /**
   * The admin API's issuer, route groups and throttles.
   * @default - a Cognito user pool as the issuer, every route group, the AdminApi default throttles
   */
  readonly adminApi?: Pick<AdminApiProps, 'jwtIssuer' | 'groups' | 'throttle' | 'adminChangeThrottle'>;
}

/**
 * Everything Lethe runs, one construct per service: the retention sweep
 * ({@link SweepService}), privacy requests ({@link PrivacyService}) and the
 * admin API ({@link AdminApi}), each owning its functions, grants and cdk-nag
 * acknowledgements; the reference key they share; and the monitoring over them.
 * Replaceable at will; the data lives in the stateful stack (the admin user
 * pool is retained on removal).
 *
 * A new service takes the {@link runtime} (every function is told every store,
 * and granted only what its access declares) and the state machines it needs,
 * and adds its functions to the monitoring.
 */
export class StatelessStack extends Stack {
  /** What every function is told and may be granted. */
  readonly runtime: LetheRuntime;
  readonly sweep: SweepService;
  readonly privacy: PrivacyService;
  readonly holds: HoldService;
  readonly deletions: DeletionService;
  /** Deletes uploaded recordings and media that no record points to (an upload URL used after its record went). */
  readonly blobGuard: BlobGuardService;
  readonly adminApi: AdminApi;
  /** The web console (S3 + CloudFront, managed login); only with the built-in user pool, whose sign-in it uses. */
  readonly adminConsole?: AdminConsole;
  /** Alarms (failed sweeps, function errors, dead letters of the schedule and the blob guard, deletion lag) and the dashboard. */
  readonly monitoring: LetheMonitoring;
  readonly referenceSecret: Secret;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, {
      description: `Lethe stateless resources (${props.platformPolicy.profile} profile): functions, workflows, schedule, admin API`,
      ...props,
    });
    const { stateful, platformPolicy } = props;
    if (props.mailFrom.trim() === '') throw new ValidationError('mailFrom must be a verified SES sender address', this);

    this.referenceSecret = new Secret(this, 'ReferenceSecret', {
      description: 'Key of the HMACs that stand for data subjects in receipts and audit events',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    acknowledge(
      this.referenceSecret.node.defaultChild,
      'AwsSolutions-SMG4',
      'The reference key makes subject HMACs in receipts and audit events comparable over time; rotating it would unlink them, so it is rotated by an operator decision, not a schedule.',
    );

    this.runtime = new LetheRuntime({
      records: stateful.records,
      control: stateful.control,
      keys: stateful.keys,
      blobs: stateful.blobs,
      shreddingKey: stateful.shreddingKey,
      referenceSecret: this.referenceSecret,
      platformPolicy,
      operatorEmails: props.operatorEmails,
      mailFrom: props.mailFrom,
      stageBudget: props.stageBudget ?? Duration.minutes(4),
      eventBus: stateful.events.bus,
    });

    this.sweep = new SweepService(this, 'SweepService', { runtime: this.runtime, manifestBucket: stateful.exportsBucket });
    this.privacy = new PrivacyService(this, 'PrivacyService', { runtime: this.runtime });
    this.holds = new HoldService(this, 'HoldService', { runtime: this.runtime, privacyStateMachine: this.privacy.stateMachine });
    this.deletions = new DeletionService(this, 'DeletionService', { runtime: this.runtime });
    this.sweep.releaseExpiredHoldsWith(this.holds.stateMachine);
    this.blobGuard = new BlobGuardService(this, 'BlobGuardService', { runtime: this.runtime, buckets: GUARDED_BUCKETS.map((name) => stateful.blobs.bucket(name)) });
    this.adminApi = new AdminApi(this, 'AdminApi', {
      ...props.adminApi,
      runtime: this.runtime,
      stateMachines: {
        sweep: this.sweep.stateMachine,
        privacy: this.privacy.stateMachine,
        hold: this.holds.stateMachine,
        deletion: this.deletions.stateMachine,
      },
    });
    if (this.adminApi.users !== undefined) {
      this.adminConsole = new AdminConsole(this, 'AdminConsole', { users: this.adminApi.users, api: this.adminApi.api, actionRoles: actionRolesOf(platformPolicy) });
    }

    this.monitoring = new LetheMonitoring(this, 'Monitoring', {
      sweepStateMachine: this.sweep.stateMachine,
      privacyStateMachine: this.privacy.stateMachine,
      holdStateMachine: this.holds.stateMachine,
      deletionStateMachine: this.deletions.stateMachine,
      functions: { ...this.sweep.functions, ...this.privacy.functions, ...this.holds.functions, ...this.deletions.functions, ...this.blobGuard.functions },
      scheduleDeadLetterQueue: this.sweep.scheduleDeadLetterQueue,
      deadLetterQueues: { ...this.blobGuard.deadLetterQueues },
      recordsTable: stateful.recordsTable,
      cadenceMinutes: platformPolicy.sweep.cadenceMinutes,
      graceHours: platformPolicy.sweep.graceHours,
      alarmEmails: props.operatorEmails,
      dashboardName: `Lethe-${platformPolicy.profile}`,
    });
  }

  /** Resources the service constructs took over keep the logical ids they had (see infra/logical-ids.ts). */
  protected override allocateLogicalId(element: CfnElement): string {
    return isUnderGrouping(element) ? groupedLogicalId(element) : super.allocateLogicalId(element);
  }
}
