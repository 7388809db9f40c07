/**
 * Failure messages and stack traces can quote personal data (an agency echoing a name); with
 * `encodeCommonAttributes` they move into an encoded payload, which the codec encrypts. Loaded by
 * path (`failureConverterPath`) by clients, workers and the workflow bundle alike.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
