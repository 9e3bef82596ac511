/** The fake third-party provider lives in `shared/local/` because local mode runs it too. */
export {
  startFakeProvider,
  type FakeProvider,
  type FakeProviderOptions,
  type FakeProviderRequest,
  type FailureOptions,
} from '../../shared/local/fake-provider.js';
