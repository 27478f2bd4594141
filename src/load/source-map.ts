import type { Document, LineCounter, Node } from 'yaml';
import type { Location } from '../diagnostics/diagnostic.js';
import { lazy } from '../util/lazy.js';
import { fastPositions, posChildren, type PosNode } from './fast-yaml.js';

import type { Path } from '../model/path.js';
export type { Path, PathSegment } from '../model/path.js';

/** How a SourceMap finds offsets: from yaml's tree, or from fastYaml's second reading. */
export interface Positions {
  offsetOf(path: Path, which: 'value' | 'key'): number;
  /** 1-based line and column of an offset, as yaml's LineCounter gives them (line 0 before the first line). */
  linePos(offset: number): { line: number; col: number };
}

/**
 * Turns a path into the policy (['inbound', 2, 'port']) into a file position. Every later stage
 * keeps paths, not offsets, so this is the one place that knows about YAML nodes.
 */
export class SourceMap {
  private positions: Positions | undefined;

  /** `index` runs at most once, on the first position asked for (large policies may never ask). */
  constructor(
    readonly file: string,
    private readonly index: () => Positions,
  ) {}

  /** Position of the value at `path`; `key` points at the mapping key instead (for unknown keys). */
  at(path: Path, which: 'value' | 'key' = 'value'): Location {
    const positions = (this.positions ??= this.index());
    return this.locate(positions, positions.offsetOf(path, which));
  }

  atOffset(offset: number): Location {
    return this.locate((this.positions ??= this.index()), offset);
  }

  /** The path as the file that holds it names it (a composed policy's rule is at another index in its own file). */
  localPath(path: Path): Path {
    return path;
  }

  private locate(positions: Positions, offset: number): Location {
    const { line, col } = positions.linePos(offset);
    return { file: this.file, line: line || 1, col: col || 1 };
  }
}

/** Positions from yaml's parsed document (any YAML, slow and large for big files). */
export function yamlPositions(doc: Document.Parsed | undefined, lines: LineCounter): Positions {
  const { isMap, isPair, isScalar, isSeq } = lazy.yaml();
  return {
    linePos: (offset) => lines.linePos(offset),
    offsetOf(path, which) {
      if (!doc) return 0;
      // Walk as deep as the document allows: a path through an alias or into a missing key still
      // lands on the nearest node that exists, which is where the author has to look.
      let node: unknown = doc.contents;
      let best = rangeStart(node) ?? 0;
      for (let i = 0; i < path.length; i++) {
        const seg = path[i]!;
        const last = i === path.length - 1;
        if (isMap(node)) {
          const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
          if (!pair) return best;
          if (last && which === 'key') return rangeStart(pair.key) ?? best;
          node = pair.value;
          best = rangeStart(node) ?? rangeStart(pair.key) ?? best;
        } else if (isSeq(node) && typeof seg === 'number') {
          node = node.items[seg];
          best = rangeStart(node) ?? best;
        } else {
          return best;
        }
      }
      return best;
    },
  };
}

/**
 * Positions from fastYaml's position reading, for texts in its subset: the same offsets as
 * yamlPositions (test/unit/fast-positions.test.ts compares them), the same walk.
 */
export function fastYamlPositions(text: string): Positions | undefined {
  const root = fastPositions(text);
  if (root === undefined) return undefined;
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  return {
    linePos: (offset) => linePos(lineStarts, offset),
    offsetOf(path, which) {
      let node: PosNode = root;
      let best = node.at;
      for (let i = 0; i < path.length; i++) {
        const seg = path[i]!;
        const { map, seq } = posChildren(node);
        if (map) {
          const key = String(seg);
          if (!Object.prototype.hasOwnProperty.call(map, key)) return best;
          const pair = map[key]!;
          if (i === path.length - 1 && which === 'key') return pair.key;
          node = pair.value;
        } else if (seq && typeof seg === 'number' && seg >= 0 && seg < seq.length) {
          node = seq.item(seg);
        } else {
          return best;
        }
        best = node.at;
      }
      return best;
    },
  };
}

/** The line holding `offset` by binary search over line starts (what yaml's LineCounter does). */
function linePos(lineStarts: readonly number[], offset: number): { line: number; col: number } {
  let low = 0;
  let high = lineStarts.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (lineStarts[mid]! < offset) low = mid + 1;
    else high = mid;
  }
  if (lineStarts[low] === offset) return { line: low + 1, col: 1 };
  if (low === 0) return { line: 0, col: offset };
  return { line: low, col: offset - lineStarts[low - 1]! + 1 };
}

function rangeStart(n: unknown): number | undefined {
  return lazy.yaml().isNode(n) && (n as Node).range ? (n as Node).range![0] : undefined;
}
