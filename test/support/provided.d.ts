// Values the global setup hands to every test file through `inject`.
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    /** Endpoint of the run's dynalite, e.g. `http://127.0.0.1:41234`. */
    dynamoEndpoint: string;
    /** Endpoint of the run's s3rver. */
    s3Endpoint: string;
  }
}
