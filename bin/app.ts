/**
 * CDK app entry: `cdk synth -c profile=<name> [-c pitrDays=<1-35>]`.
 * The profile defaults to conversations.
 */
import { App } from 'aws-cdk-lib';
import { UnknownProfileError } from '../shared/config/profiles.js';
import { buildApp } from '../infra/app.js';
import { ValidationError } from '../infra/errors.js';

const app = new App();
try {
  buildApp(app);
} catch (err) {
  // Bad context or props: the message says what to change; a stack trace would only bury it.
  if (err instanceof UnknownProfileError || err instanceof ValidationError) {
    console.error(`lethe: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
app.synth();
