import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { Family, IR, Rule, Ruleset } from '../model/ir.js';
import type { Analysis } from '../check/checks/api.js';

/** A file a compile writes. */
export interface Artifact {
  readonly file: string;
  readonly content: string;
  /**
   * The content in pieces that concatenate to it, when it is large (restore files): the writer
   * writes them one by one instead of building the whole text and its UTF-8 copy at once.
   */
  readonly chunks?: readonly string[];
  readonly executable: boolean;
  /** For restore files: the ruleset written, to map a load error at an `-A` line back to its rule (`ruleAt`). */
  readonly ruleset?: Ruleset;
  readonly family?: Family;
}

/**
 * A guard of the output, checked on what is emitted: the tool refuses or silently alters a file
 * past a limit, and some IR no valid policy makes (a loop of jumps) would not load. ipfence's own
 * rules never reach one (names, prefixes and port lists are capped earlier), so a finding is a
 * bug in ipfence; the guard keeps it from reaching a host.
 */
export type Guard = Analysis<{ readonly ir: IR }>;

/** What every generated file's header says: ipfence's version, the policy's name and hash. */
export interface FileHeader {
  readonly version: string;
  readonly source: string;
  readonly hash: string;
}

/**
 * A back end: how the IR becomes the files a host loads with its tool. emit writes apply.sh and
 * the units around them; the checks of the output and the mapping of a refused line back to its
 * rule are the back end's, since only it knows its files.
 */
export interface Backend {
  readonly name: string;
  /** The files of the rules, in the order apply.sh lists them. */
  rulesFiles(ir: IR, header: FileHeader): Artifact[];
  /** The files of the address sets the rules use, none when they use none. */
  setFiles(ir: IR, header: FileHeader): Artifact[];
  /** What apply.sh --boot loads for a family when neither this policy nor the last one loads. */
  fallback(rs: Ruleset): string;
  /** What the tool would refuse or alter in the files (a finding is a bug in ipfence). */
  readonly guards: readonly Guard[];
  /** The files' size past the output limit, at the policy rule that writes the most. */
  outputSizeLimit(ir: IR): Diagnostic[];
  /** The rule of a ruleset that the `index`th rule line of its file holds: a refused load names it. */
  ruleAt(rs: Ruleset, index: number): Rule | undefined;
}
