/**
 * The in-process privacy starter runs the rendered `PrivacyRequest` state
 * machine with the given task handler, awaited or in the background, and like
 * Step Functions starts an execution name once only.
 */
import { describe, expect, it } from 'vitest';
import { InProcessPrivacyStarter } from '../../shared/local/in-process-privacy-starter.js';

/** A worker that records the actions the state machine asks of it, in order. */
function recordingWorker(delayMs = 0) {
  const actions: string[] = [];
  const worker = async (payload: unknown) => {
    const { action, requestId } = payload as { action: string; requestId: string };
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    actions.push(`${requestId}:${action}`);
    return action === 'execute' ? { status: 'completed', done: true } : {};
  };
  return { actions, handlers: { worker } };
}

describe('InProcessPrivacyStarter', () => {
  it('runs start, execute and notify before start() resolves, by default', async () => {
    const { actions, handlers } = recordingWorker();
    const starter = new InProcessPrivacyStarter(handlers);

    await starter.start({ tenantId: 'acme', requestId: 'p-1', executionName: 'p-1' });

    expect(actions).toEqual(['p-1:start', 'p-1:execute', 'p-1:notify']);
  });

  it('runs in the background when asked to, and idle() waits for the execution to end', async () => {
    const { actions, handlers } = recordingWorker(20);
    const starter = new InProcessPrivacyStarter(handlers, { background: true });

    await starter.start({ tenantId: 'acme', requestId: 'p-2', executionName: 'p-2' });
    expect(starter.size).toBe(1);
    await starter.idle();

    expect(actions).toEqual(['p-2:start', 'p-2:execute', 'p-2:notify']);
    expect(starter.size).toBe(0);
  });

  it('starts a name once only, and a resume name as a new execution of the same request', async () => {
    const { actions, handlers } = recordingWorker();
    const starter = new InProcessPrivacyStarter(handlers);

    await starter.start({ tenantId: 'acme', requestId: 'p-3', executionName: 'p-3' });
    await starter.start({ tenantId: 'acme', requestId: 'p-3', executionName: 'p-3' });
    await starter.start({ tenantId: 'acme', requestId: 'p-3', executionName: 'p-3-resume-1' });

    expect(starter.calls).toHaveLength(3);
    expect(starter.started.map((s) => s.executionName)).toEqual(['p-3', 'p-3-resume-1']);
    expect(actions.filter((a) => a === 'p-3:execute')).toHaveLength(2);
  });
});
