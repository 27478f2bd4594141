import type { L4, PortRange, Proto } from '../model/ir.js';
import type { Path, PathSegment } from '../model/path.js';
import type { Ports } from '../model/policy.js';
import { normalizePorts, readPort } from '../values/ports.js';
import { under, type Reporter } from './report.js';

const L4_PROTOS: readonly string[] = ['tcp', 'udp', 'sctp'];
/** Ports without a protocol: shared, since the IR never changes it. */
const TCP_ONLY: readonly Proto[] = ['tcp'];

export function isL4(p: Proto): p is L4 {
  return L4_PROTOS.includes(p);
}

/** Protocols of a rule; `null` means any protocol. Ports without a protocol mean tcp. */
export function readProtos(reporter: Reporter, spec: string | readonly string[] | undefined, hasPorts: boolean, path: Path, field?: PathSegment): readonly Proto[] | null | undefined {
  if (spec === undefined) return hasPorts ? TCP_ONLY : null;
  const list = typeof spec === 'string' ? [spec] : spec;
  if (list.includes('all')) {
    if (hasPorts) {
      reporter.report('port-needs-proto', under(path, field), 'ports need a protocol that has ports: write proto: tcp, udp or sctp (or a list of them)');
      return undefined;
    }
    return null;
  }
  if (hasPorts && list.some((p) => !L4_PROTOS.includes(p))) {
    reporter.report('port-needs-proto', under(path, field), `ports need tcp, udp or sctp, but proto includes ${list.filter((p) => !L4_PROTOS.includes(p)).join(', ')}; put those in a separate rule`);
    return undefined;
  }
  return list as readonly Proto[];
}

/** A rule's ports as ranges, sorted and merged; null for none, undefined after a diagnostic. */
export function readPorts(reporter: Reporter, spec: Ports | undefined, path: Path, field?: PathSegment): readonly PortRange[] | null | undefined {
  if (spec === undefined) return null;
  const list = Array.isArray(spec);
  const out = new Array<PortRange>(list ? spec.length : 1);
  let ok = true;
  for (let i = 0; i < out.length; i++) {
    const got = readPort(list ? spec[i]! : (spec as number | string));
    if (typeof got !== 'string') out[i] = got;
    else {
      reporter.report('port-invalid', list ? [...under(path, field), i] : under(path, field), got);
      ok = false;
    }
  }
  return ok ? normalizePorts(out) : undefined;
}
