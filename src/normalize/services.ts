import type { L4, PortRange } from '../model/ir.js';
import type { Path, PathSegment } from '../model/path.js';
import type { Policy, ServiceRef } from '../model/policy.js';
import { SERVICES } from '../model/services.js';
import { normalizePorts, readPort } from '../values/ports.js';
import { didYouMean } from '../util/suggest.js';
import { under, type Reporter } from './report.js';

/** A service's ports for some of its protocols: rules are made per group, each a protocols-by-ports product. */
export interface PortGroup {
  readonly protos: readonly L4[];
  readonly ports: readonly PortRange[];
}

const ENTRY = /^(tcp|udp|sctp)\/(.+)$/;

/** The services a policy can name: the built-in table and its own `services:`. */
export class ServiceBook {
  private readonly own = new Map<string, Map<L4, PortRange[]>>();
  private readonly declared: ReadonlySet<string>;

  constructor(
    policy: Policy,
    private readonly reporter: Reporter,
  ) {
    this.declared = new Set(Object.keys(policy.services ?? {}));
    for (const [name, entries] of Object.entries(policy.services ?? {})) {
      const path: Path = ['services', name];
      if (Object.prototype.hasOwnProperty.call(SERVICES, name)) {
        reporter.report('service-invalid', path, `'${name}' is a built-in service (${SERVICES[name]!.join(', ')}); name yours differently (for example '${name}-alt'), so that '${name}' means the same in every policy`);
        continue;
      }
      const read = readEntries(entries, path, reporter);
      if (read) this.own.set(name, read);
    }
  }

  /** The port groups of a `service:` value; undefined after a diagnostic. */
  read(ref: ServiceRef, path: Path, field?: PathSegment): readonly PortGroup[] | undefined {
    const names = typeof ref === 'string' ? [ref] : ref;
    const byProto = new Map<L4, PortRange[]>();
    let ok = true;
    names.forEach((name, i) => {
      const at = typeof ref === 'string' ? under(path, field) : [...under(path, field), i];
      const ports = this.own.get(name) ?? (Object.prototype.hasOwnProperty.call(SERVICES, name) ? readEntries(SERVICES[name]!, at, this.reporter) : undefined);
      if (ports === undefined) {
        // A name of `services:` that did not read is reported there.
        if (!Object.prototype.hasOwnProperty.call(SERVICES, name) && !this.declared.has(name)) {
          const guess = didYouMean(name, [...Object.keys(SERVICES), ...this.own.keys()]);
          this.reporter.report('service-unknown', at, `unknown service '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}; add it under \`services:\` (for example ${name}: [tcp/8443]) or write proto and port`);
        }
        ok = false;
        return;
      }
      for (const [proto, ranges] of ports) byProto.set(proto, [...(byProto.get(proto) ?? []), ...ranges]);
    });
    if (!ok) return undefined;
    // Protocols with the same ports share one group: dns is [tcp, udp] x 53, not two groups.
    const groups = new Map<string, { protos: L4[]; ports: readonly PortRange[] }>();
    for (const proto of ['tcp', 'udp', 'sctp'] as const) {
      const ranges = byProto.get(proto);
      if (ranges === undefined) continue;
      const ports = normalizePorts(ranges);
      const key = ports.map((p) => `${p.lo}-${p.hi}`).join(',');
      const g = groups.get(key);
      if (g) g.protos.push(proto);
      else groups.set(key, { protos: [proto], ports });
    }
    return [...groups.values()];
  }
}

function readEntries(entries: readonly string[], path: Path, reporter: Reporter): Map<L4, PortRange[]> | undefined {
  const out = new Map<L4, PortRange[]>();
  for (let i = 0; i < entries.length; i++) {
    const m = ENTRY.exec(entries[i]!);
    const port = m ? readPort(/^\d+$/.test(m[2]!) ? Number(m[2]) : m[2]!) : undefined;
    if (!m || port === undefined || typeof port === 'string') {
      reporter.report('service-invalid', [...path, i], `'${entries[i]}' is not protocol/port (tcp/8443, udp/5000-5010)${typeof port === 'string' ? `: ${port}` : ''}`);
      return undefined;
    }
    const proto = m[1] as L4;
    out.set(proto, [...(out.get(proto) ?? []), port]);
  }
  return out;
}
