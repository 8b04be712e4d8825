export { runVerification } from './run-verification.ts';
export {
  ConfigurationError,
  optionsFromEnv,
  logLevelFromEnv,
  type LiveProgress,
  type LogLevel,
  type ProgressSnapshot,
  type VerificationOptions,
  type WireMessage,
} from './verification-options.ts';
export type { VerificationReport } from './verification-report.ts';
