import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import type { Location } from '../diagnostics/diagnostic.js';

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

/**
 * Turns a path into the policy (['inbound', 2, 'port']) into a file position. Every later stage
 * keeps paths, not offsets, so this is the one place that knows about YAML nodes.
 */
export class SourceMap {
  private parsed: { doc: Document.Parsed | undefined; lines: LineCounter } | undefined;

  /** `parse` runs at most once, on the first position asked for (large policies may never ask). */
  constructor(
    readonly file: string,
    private readonly parse: () => { doc: Document.Parsed | undefined; lines: LineCounter },
  ) {}

  private get doc(): Document.Parsed | undefined {
    return (this.parsed ??= this.parse()).doc;
  }

  private get lines(): LineCounter {
    return (this.parsed ??= this.parse()).lines;
  }

  /** Position of the value at `path`; `key` points at the mapping key instead (for unknown keys). */
  at(path: Path, which: 'value' | 'key' = 'value'): Location {
    const offset = this.offsetOf(path, which);
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line: line || 1, col: col || 1 };
  }

  atOffset(offset: number): Location {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line: line || 1, col: col || 1 };
  }

  private offsetOf(path: Path, which: 'value' | 'key'): number {
    if (!this.doc) return 0;
    // Walk as deep as the document allows: a path through an alias or into a missing key still
    // lands on the nearest node that exists, which is where the author has to look.
    let node: unknown = this.doc.contents;
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
  }
}

function rangeStart(n: unknown): number | undefined {
  return isNode(n) && (n as Node).range ? (n as Node).range![0] : undefined;
}
