import type { LabStatus } from '../verify/netns.js';
import type { CheckoutFile, ReadLimits } from './read.js';

/** Everything the CLI does to the world, as arguments: tests pass their own (test/helpers/io.ts). */
export interface IO {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  /**
   * Bytes, not text: the headers give the SHA-256 of the policy's bytes, as `sha256sum` does. Both
   * refuse more than maxBytes. readFile is the one way a file of the checkout is read: a regular
   * file inside the working directory, through no symbolic link (readCheckoutFile, src/cli/read.ts).
   */
  readonly readStdin: (maxBytes: number) => Promise<Uint8Array>;
  readonly readFile: (path: string, limits: ReadLimits) => Promise<CheckoutFile>;
  /** The working directory, which reads are confined to and globs expand in; default process.cwd(). */
  readonly cwd?: string;
  readonly colorStdout: boolean;
  readonly colorStderr: boolean;
  /** Whether namespaces can be made here; tests replace it to exercise the refusal path. */
  readonly kernelLab?: () => LabStatus;
}

export const EXIT_OK = 0;
export const EXIT_POLICY = 1;
export const EXIT_USAGE = 2;
