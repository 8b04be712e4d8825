import { runVerification, type VerificationOptions } from '../../tools/verify/src/index.ts';

/**
 * A verification run as a process of its own, for tests that must run the checker
 * somewhere else than in the test's process (on another "host": in another network
 * namespace) with options the command line does not take (`maxEventsPerSecond`).
 * Reads the options as JSON from FM_VERIFICATION_OPTIONS and prints the report as one
 * JSON line prefixed with REPORT_PREFIX; exits 0 when the run passed, 1 when it failed.
 */
export const REPORT_PREFIX = 'verification report: ';

const raw = process.env['FM_VERIFICATION_OPTIONS'];
if (!raw) {
  console.error('FM_VERIFICATION_OPTIONS is not set: expected the verification options as JSON');
  process.exit(2);
}
const report = await runVerification(JSON.parse(raw) as VerificationOptions);
console.log(`${REPORT_PREFIX}${JSON.stringify(report)}`);
process.exitCode = report.ok ? 0 : 1;
