import { BUILTIN_CHAINS } from '../model/chains.js';
import type { Chain, Table } from '../model/ir.js';

/**
 * One table's chains as netfilter runs them: the chains each hook's packets enter, in the order
 * they meet them, and where jumps lead. The walk, reach, diff and the checks all ask this one
 * graph which chains a hook reaches; none follows jumps on its own.
 */
export class ChainGraph {
  private readonly byName: ReadonlyMap<string, Chain>;
  private readonly reached = new Map<string, ReadonlySet<string>>();
  private jumped: ReadonlySet<string> | undefined;

  constructor(readonly table: Table) {
    this.byName = new Map(table.chains.map((c) => [c.name, c]));
  }

  chain(name: string): Chain | undefined {
    return this.byName.get(name);
  }

  /**
   * The chains a hook's packets enter, in the order they meet them: those hooked in at its start
   * from outside the file (coexist), its built-in chain, those hooked in at its end.
   */
  entries(hook: string): readonly Chain[] {
    const chains = this.table.chains;
    const hooked = chains.filter((c) => c.hookedFrom?.includes(hook));
    const builtin = this.byName.get(hook);
    return [...hooked.filter((c) => c.hookedAt !== 'end'), ...(builtin ? [builtin] : []), ...hooked.filter((c) => c.hookedAt === 'end')];
  }

  /** The names of the chains a hook's packets can meet: its entries and every chain a jump leads to from them. */
  reachedFrom(hook: string): ReadonlySet<string> {
    let out = this.reached.get(hook);
    if (out === undefined) {
      const names = new Set(this.entries(hook).map((c) => c.name));
      // A Set's iteration takes in what is added during it: every chain reached, transitively.
      for (const name of names) for (const r of this.byName.get(name)?.rules ?? []) if (r.target.kind === 'jump') names.add(r.target.chain);
      this.reached.set(hook, (out = names));
    }
    return out;
  }

  /** The hooks whose packets reach each chain: the table's own, and any a chain is hooked into. */
  hooksOf(name: string): ReadonlySet<string> {
    return new Set(this.hooks().filter((h) => this.reachedFrom(h).has(name)));
  }

  /** The names of the chains some jump of the table leads to. */
  jumpedTo(): ReadonlySet<string> {
    return (this.jumped ??= new Set(this.table.chains.flatMap((c) => c.rules.flatMap((r) => (r.target.kind === 'jump' ? [r.target.chain] : [])))));
  }

  private hooks(): readonly string[] {
    return [...new Set([...BUILTIN_CHAINS[this.table.name], ...this.table.chains.flatMap((c) => c.hookedFrom ?? [])])];
  }
}

const GRAPHS = new WeakMap<Table, ChainGraph>();

/** The graph of a table, built once per table. */
export function chainGraph(table: Table): ChainGraph {
  let graph = GRAPHS.get(table);
  if (graph === undefined) GRAPHS.set(table, (graph = new ChainGraph(table)));
  return graph;
}
