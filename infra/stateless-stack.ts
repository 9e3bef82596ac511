import { Duration, Stack, Validations, type CfnElement, type StackProps } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { PlatformPolicy } from '../shared/domain/policy.js';
import { AdminApi, type AdminApiProps } from './constructs/admin-api.js';
import { LetheFunction } from './constructs/lethe-function.js';
import { PrivacyWorkflow } from './constructs/privacy-workflow.js';
import { LetheMonitoring } from './constructs/monitoring.js';
import { SweepWorkflow } from './constructs/sweep-workflow.js';
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

/** Longest one privacy-request step may take: the Lambda maximum, for a large subject's erasure. */
const PRIVACY_STEP_TIMEOUT = Duration.minutes(15);

/**
 * Everything Lethe runs: the sweep functions, the `Sweep` state machine and its
 * schedule, the privacy-request worker and its `PrivacyRequest` state machine,
 * and the admin API. Replaceable at will; the data lives in the stateful stack
 * (the admin user pool is retained on removal).
 */
export class StatelessStack extends Stack {
  readonly sweep: SweepWorkflow;
  readonly privacy: PrivacyWorkflow;
  /** Alarms (failed sweeps, function errors, dead letters, deletion lag) and the dashboard. */
  readonly monitoring: LetheMonitoring;
  readonly schedule: Schedule;
  readonly scheduleDeadLetterQueue: Queue;
  readonly referenceSecret: Secret;
  readonly adminApi: AdminApi;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, {
      description: `Lethe stateless resources (${props.platformPolicy.profile} profile): functions, workflows, schedule, admin API`,
      ...props,
    });
    const { stateful, platformPolicy } = props;
    const stageBudget = props.stageBudget ?? Duration.minutes(4);
    if (props.mailFrom.trim() === '') throw new Error('StatelessStack: mailFrom must be a verified SES sender address');

    this.referenceSecret = new Secret(this, 'ReferenceSecret', {
      description: 'Key of the HMACs that stand for data subjects in receipts and audit events',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });

    const environment = {
      RECORDS_TABLE: stateful.recordsTable.tableName,
      CONTROL_TABLE: stateful.controlTable.tableName,
      KEYS_TABLE: stateful.keysTable.tableName,
      RECORDINGS_BUCKET: stateful.recordingsBucket.bucketName,
      MEDIA_BUCKET: stateful.mediaBucket.bucketName,
      EXPORTS_BUCKET: stateful.exportsBucket.bucketName,
      PLATFORM_POLICY: JSON.stringify(platformPolicy),
      REF_SECRET_ARN: this.referenceSecret.secretArn,
      OPERATOR_EMAILS: props.operatorEmails.join(','),
      MAIL_FROM: props.mailFrom,
      STAGE_BUDGET_MS: String(stageBudget.toMilliseconds()),
    };

    const listTenants = new LetheFunction(this, 'SweepListTenants', {
      functionDir: 'sweep-list-tenants',
      description: 'Lethe sweep: lists the tenants a run covers',
      environment,
    }).function;
    const stageTimeout = stageBudget.plus(Duration.minutes(2));
    const stage = new LetheFunction(this, 'SweepStage', {
      functionDir: 'sweep-stage',
      description: 'Lethe sweep: deletes one chunk of one stage for a group of tenant runs',
      environment,
      memorySizeMb: 1024,
      timeout: stageTimeout,
    }).function;
    const lifecycle = new LetheFunction(this, 'SweepLifecycle', {
      functionDir: 'sweep-lifecycle',
      description: 'Lethe sweep: opens, finishes and alerts on the tenant runs of a group',
      environment,
    }).function;

    // Least privilege: the lister reads control data; the stage deletes records and blobs
    // and writes receipts; the lifecycle writes receipts and sends alerts.
    for (const fn of [listTenants, stage, lifecycle]) {
      stateful.control.grantAccess(fn, fn === listTenants ? 'read' : 'readWrite');
      this.referenceSecret.grantRead(fn);
    }
    stateful.records.grantReadWrite(stage);
    stateful.blobs.grantDelete(stage, 'recordings');
    stateful.blobs.grantDelete(stage, 'media');
    // SES authorises a send on the sender's identity: the address itself, or its domain.
    const senderDomain = props.mailFrom.slice(props.mailFrom.lastIndexOf('@') + 1);
    const sendMail = () =>
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['ses:SendEmail'],
        resources: [props.mailFrom, senderDomain].map(
          (identity) => `arn:${this.partition}:ses:${this.region}:${this.account}:identity/${identity}`,
        ),
      });
    lifecycle.addToRolePolicy(sendMail());

    this.sweep = new SweepWorkflow(this, 'Sweep', {
      listTenantsFunction: listTenants,
      stageFunction: stage,
      lifecycleFunction: lifecycle,
      tenantConcurrency: platformPolicy.sweep.tenantConcurrency,
      stageTimeout,
    });

    this.scheduleDeadLetterQueue = new Queue(this, 'ScheduleDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.schedule = new Schedule(this, 'SweepSchedule', {
      description: `Lethe retention sweep every ${platformPolicy.sweep.cadenceMinutes} minutes`,
      schedule: ScheduleExpression.rate(Duration.minutes(platformPolicy.sweep.cadenceMinutes)),
      target: new StepFunctionsStartExecution(this.sweep.stateMachine, {
        input: ScheduleTargetInput.fromObject({ dryRun: false }),
        deadLetterQueue: this.scheduleDeadLetterQueue,
        retryAttempts: 5,
        maxEventAge: Duration.hours(1),
      }),
    });

    const privacyWorker = new LetheFunction(this, 'PrivacyWorker', {
      functionDir: 'privacy-worker',
      description: 'Lethe privacy requests: starts, executes (erasure, access export, anonymisation), records failures, notifies',
      environment,
      memorySizeMb: 1024,
      timeout: PRIVACY_STEP_TIMEOUT,
    }).function;
    // Erasure and anonymisation go through the deletion path (records, blobs and their versions);
    // access writes the export and pre-signs links to it and to the subject's blobs; every kind
    // updates the request and writes a receipt, and e-mails the requester.
    stateful.records.grantReadWrite(privacyWorker);
    stateful.control.grantAccess(privacyWorker, 'readWrite');
    for (const bucket of ['recordings', 'media'] as const) {
      stateful.blobs.grantRead(privacyWorker, bucket);
      stateful.blobs.grantDelete(privacyWorker, bucket);
    }
    stateful.blobs.grantPut(privacyWorker, 'exports');
    stateful.blobs.grantRead(privacyWorker, 'exports');
    this.referenceSecret.grantRead(privacyWorker);
    privacyWorker.addToRolePolicy(sendMail());
    this.privacy = new PrivacyWorkflow(this, 'PrivacyRequest', {
      workerFunction: privacyWorker,
      stepTimeout: PRIVACY_STEP_TIMEOUT,
    });

    this.adminApi = new AdminApi(this, 'AdminApi', {
      ...props.adminApi,
      records: stateful.records,
      control: stateful.control,
      blobs: stateful.blobs,
      referenceSecret: this.referenceSecret,
      sweepStateMachine: this.sweep.stateMachine,
      privacyStateMachine: this.privacy.stateMachine,
      environment,
    });

    this.monitoring = new LetheMonitoring(this, 'Monitoring', {
      sweepStateMachine: this.sweep.stateMachine,
      privacyStateMachine: this.privacy.stateMachine,
      functions: { SweepStage: stage, SweepLifecycle: lifecycle, SweepListTenants: listTenants, PrivacyWorker: privacyWorker },
      scheduleDeadLetterQueue: this.scheduleDeadLetterQueue,
      recordsTable: props.stateful.recordsTable,
      cadenceMinutes: platformPolicy.sweep.cadenceMinutes,
      graceHours: platformPolicy.sweep.graceHours,
      alarmEmails: props.operatorEmails,
      dashboardName: `Lethe-${platformPolicy.profile}`,
    });

    this.acknowledgeFindings(props.stateful, { listTenants, stage, lifecycle });
    this.acknowledgePrivacyFindings(props.stateful);
  }

  /**
   * Acknowledges, one by one and each with its reason, the cdk-nag findings
   * that follow from how these resources must work. Anything not listed here
   * still fails synth.
   */
  private acknowledgeFindings(stateful: StatefulStack, fns: Readonly<Record<'listTenants' | 'stage' | 'lifecycle', IFunction>>): void {
    const ack = (scope: IConstruct | undefined, id: string, reason: string) => {
      if (scope !== undefined) Validations.of(scope).acknowledge({ id, reason });
    };
    // Cross-stack references appear in findings under the export's name, as synth will write it.
    const exported = (value: string): string => {
      const resolved = this.resolve(stateful.exportValue(value)) as { 'Fn::ImportValue': string };
      return resolved['Fn::ImportValue'];
    };
    const policyOf = (fn: IFunction) => fn.role?.node.tryFindChild('DefaultPolicy')?.node.defaultChild as IConstruct | undefined;

    for (const fn of Object.values(fns)) {
      ack(fn.role?.node.defaultChild as IConstruct | undefined, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'The managed basic execution role only lets the function write its own CloudWatch logs.');
      ack(fn.node.defaultChild as IConstruct, 'AwsSolutions-L1',
        'Pinned to nodejs22.x, the runtime the ESM bundle targets (esbuild target node22); moving runtime is a tested change, not a drift.');
      ack(policyOf(fn), 'AwsSolutions-IAM5[Resource::*]', 'X-Ray PutTraceSegments/PutTelemetryRecords accept no resource but *.');
    }
    for (const fn of [fns.stage, fns.lifecycle]) {
      for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
        ack(policyOf(fn), `AwsSolutions-IAM5[Action::${action}]`,
          'CDK grant on the customer-managed key that encrypts the control and records tables; restricted to that one key.');
      }
    }
    const stagePolicy = policyOf(fns.stage);
    ack(stagePolicy, `AwsSolutions-IAM5[Resource::${exported(stateful.recordsTable.tableArn)}/index/*]`,
      'A sweep queries the byRetention and byIdentifier indexes of the records table.');
    ack(stagePolicy, 'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      'The sweep deletes objects and every one of their versions (DeleteObject, DeleteObjectVersion).');
    for (const bucket of [stateful.recordingsBucket, stateful.mediaBucket]) {
      ack(stagePolicy, `AwsSolutions-IAM5[Resource::${exported(bucket.bucketArn)}/*]`,
        'Governed objects are keyed <prefix>/<tenant>/<subject>/<id>; the sweep may delete any of them once due.');
    }
    const machinePolicy = this.sweep.stateMachine.role.node.tryFindChild('DefaultPolicy')?.node.defaultChild as IConstruct | undefined;
    ack(machinePolicy, 'AwsSolutions-IAM5[Resource::*]',
      'X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery and friends) accept no resource but *.');
    for (const fn of Object.values(fns)) {
      const logicalId = this.getLogicalId(fn.node.defaultChild as CfnElement);
      ack(machinePolicy, `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        'The state machine invokes its own three functions, any version (CDK LambdaInvoke grant).');
    }
    ack(this.referenceSecret.node.defaultChild as IConstruct, 'AwsSolutions-SMG4',
      'The reference key makes subject HMACs in receipts and audit events comparable over time; rotating it would unlink them, so it is rotated by an operator decision, not a schedule.');
    ack(this.scheduleDeadLetterQueue.node.defaultChild as IConstruct, 'AwsSolutions-SQS3',
      'This queue is itself the dead-letter queue of the sweep schedule.');
  }

  /** The privacy worker's and the `PrivacyRequest` state machine's findings, one by one with their reasons. */
  private acknowledgePrivacyFindings(stateful: StatefulStack): void {
    const ack = (scope: IConstruct | undefined, id: string, reason: string) => {
      if (scope !== undefined) Validations.of(scope).acknowledge({ id, reason });
    };
    const exported = (value: string): string =>
      (this.resolve(stateful.exportValue(value)) as { 'Fn::ImportValue': string })['Fn::ImportValue'];
    const worker = this.privacy.workerFunction;
    const policy = worker.role?.node.tryFindChild('DefaultPolicy')?.node.defaultChild as IConstruct | undefined;

    ack(worker.role?.node.defaultChild as IConstruct | undefined, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'The managed basic execution role only lets the function write its own CloudWatch logs.');
    ack(worker.node.defaultChild as IConstruct, 'AwsSolutions-L1',
      'Pinned to nodejs22.x, the runtime the ESM bundle targets (esbuild target node22); moving runtime is a tested change, not a drift.');
    ack(policy, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray PutTraceSegments/PutTelemetryRecords accept no resource but *.');
    for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
      ack(policy, `AwsSolutions-IAM5[Action::${action}]`,
        'CDK grant on the customer-managed key that encrypts the control and records tables; restricted to that one key.');
    }
    ack(policy, `AwsSolutions-IAM5[Resource::${exported(stateful.recordsTable.tableArn)}/index/*]`,
      'A privacy request finds its subjects through the byIdentifier index and, for a bulk erasure, the byRetention index of the records table.');
    for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*']) {
      ack(policy, `AwsSolutions-IAM5[Action::${action}]`,
        "CDK read grant on the recordings, media and exports buckets only: an access request pre-signs links to the subject's blobs and to its own export.");
    }
    ack(policy, 'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      'Erasure and anonymisation delete the subject\'s objects and every one of their versions (DeleteObject, DeleteObjectVersion), on the recordings and media buckets only.');
    for (const bucket of [stateful.recordingsBucket, stateful.mediaBucket]) {
      ack(policy, `AwsSolutions-IAM5[Resource::${exported(bucket.bucketArn)}/*]`,
        'Governed objects are keyed <prefix>/<tenant>/<subject>/<id>; a privacy request reads (links) and deletes those of its subjects.');
    }
    ack(policy, `AwsSolutions-IAM5[Resource::${exported(stateful.exportsBucket.bucketArn)}/*]`,
      'Access exports are written as exports/<tenant>/<requestId>.json, a key known only once the request exists; the worker writes and pre-signs them.');

    const machinePolicy = this.privacy.stateMachine.role.node.tryFindChild('DefaultPolicy')?.node.defaultChild as IConstruct | undefined;
    ack(machinePolicy, 'AwsSolutions-IAM5[Resource::*]',
      'X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery and friends) accept no resource but *.');
    ack(machinePolicy, `AwsSolutions-IAM5[Resource::<${this.getLogicalId(worker.node.defaultChild as CfnElement)}.Arn>:*]`,
      'The state machine invokes its own worker function, any version (CDK LambdaInvoke grant).');
  }
}
