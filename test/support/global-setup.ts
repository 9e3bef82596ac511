/**
 * Starts the embedded emulators once per test run and hands their endpoints to
 * the test files (`inject('dynamoEndpoint')`, `inject('s3Endpoint')`). Each file
 * creates its own uniquely named tables and buckets (see env.ts).
 */
import type { TestProject } from 'vitest/node';
import { startEmulators } from '../../shared/local/emulators.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const emulators = await startEmulators();
  project.provide('dynamoEndpoint', emulators.dynamoEndpoint);
  project.provide('s3Endpoint', emulators.s3Endpoint);
  return () => emulators.close();
}
