/**
 * CDK app entry: `cdk synth -c profile=<name> [-c pitrDays=<1-35>]`.
 * The profile defaults to conversations.
 */
import { App } from 'aws-cdk-lib';
import { UnknownProfileError } from '../shared/config/profiles.js';
import { buildApp, InvalidAppContextError } from '../infra/app.js';

const app = new App();
try {
  buildApp(app);
} catch (err) {
  if (err instanceof UnknownProfileError || err instanceof InvalidAppContextError) {
    console.error(`lethe: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
app.synth();
