import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../shared/config/profiles.js';
import {
  ConfigurationError,
  readLambdaConfig,
  requirePrivacyStateMachineArn,
  requireSweepStateMachineArn,
} from '../../shared/config/lambda-env.js';

const ENV = {
  AWS_REGION: 'eu-west-1',
  RECORDS_TABLE: 'records',
  CONTROL_TABLE: 'control',
  KEYS_TABLE: 'keys',
  RECORDINGS_BUCKET: 'rec',
  MEDIA_BUCKET: 'media',
  EXPORTS_BUCKET: 'exports',
  PLATFORM_POLICY: JSON.stringify(loadProfile('voice')),
  REF_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:ref',
  OPERATOR_EMAILS: '',
  MAIL_FROM: 'lethe@example.com',
  STAGE_BUDGET_MS: '60000',
};

describe('the sweep state machine ARN', () => {
  it('is read when set', () => {
    const config = readLambdaConfig({ ...ENV, SWEEP_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:1:stateMachine:Sweep' });

    expect(requireSweepStateMachineArn(config)).toBe('arn:aws:states:eu-west-1:1:stateMachine:Sweep');
  });

  it('is optional for the functions that start no runs, and required by the one that does', () => {
    const config = readLambdaConfig({ ...ENV, SWEEP_STATE_MACHINE_ARN: '  ' });

    expect(config.sweepStateMachineArn).toBeUndefined();
    expect(() => requireSweepStateMachineArn(config)).toThrow(ConfigurationError);
    expect(() => requireSweepStateMachineArn(config)).toThrow(/SWEEP_STATE_MACHINE_ARN/);
  });
});

describe('the privacy state machine ARN', () => {
  it('is read when set', () => {
    const config = readLambdaConfig({ ...ENV, PRIVACY_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:1:stateMachine:PrivacyRequest' });

    expect(requirePrivacyStateMachineArn(config)).toBe('arn:aws:states:eu-west-1:1:stateMachine:PrivacyRequest');
  });

  it('is optional for the functions that start no privacy requests, and required by the ones that do', () => {
    const config = readLambdaConfig(ENV);

    expect(config.privacyStateMachineArn).toBeUndefined();
    expect(() => requirePrivacyStateMachineArn(config)).toThrow(/PRIVACY_STATE_MACHINE_ARN/);
  });
});
