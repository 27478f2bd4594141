/**
 * The closed catalogue of diagnostic codes. Every code that any stage can report is listed here,
 * once, with its severity and a one-line description; docs/diagnostics.md is generated from the
 * same data by `npm run gen`, so the two cannot drift.
 */
export const CODES = {
  // load
  'yaml-syntax': { severity: 'error', stage: 'load', doc: 'The file is not valid YAML; a misindented line is named, with the indentations that would be right.' },
  'yaml-duplicate-key': { severity: 'error', stage: 'load', doc: 'A mapping repeats a key; YAML would silently keep one. The message names the key and where it was first.' },
  'io-read': { severity: 'error', stage: 'load', doc: 'A file could not be read: the policy, an include, an inventory or a host\'s policy, or a committed output for `--against`. ipfence reads only regular files inside the directory it runs in, through no symbolic link, within `--max-bytes`; the message says which rule the file broke, never what it holds. Exit 2.' },
  'include-invalid': { severity: 'error', stage: 'load', doc: 'An `include:` that cannot be used (one that cannot be read is `io-read`): outside the directory ipfence runs in, not a .yaml file, a loop, a key an included file may not hold, or a name defined twice differently.' },
  'variable-unknown': { severity: 'error', stage: 'load', doc: 'A `${name}` with no value in `variables:` or the inventory, or a list used inside text.' },
  // validate
  'schema-unknown-key': { severity: 'error', stage: 'validate', doc: 'A key the policy language does not know (often a typo), or an inventory given as a policy (give it with `--inventory`).' },
  'schema-missing-key': { severity: 'error', stage: 'validate', doc: 'A required key is absent.' },
  'schema-type': { severity: 'error', stage: 'validate', doc: 'A value has the wrong type or shape.' },
  'schema-value': { severity: 'error', stage: 'validate', doc: 'A value is outside what the language accepts.' },
  // normalize
  'unknown-name': { severity: 'error', stage: 'normalize', about: 'value', doc: 'A reference to an address set or interface that is not declared.' },
  'address-invalid': { severity: 'error', stage: 'normalize', about: 'value', doc: 'Not an IPv4/IPv6 address or CIDR (hostnames are not allowed: they resolve at load time).' },
  'address-set-cycle': { severity: 'error', stage: 'normalize', about: 'value', doc: 'Address sets refer to each other in a loop.' },
  'cidr-host-bits': { severity: 'warning', stage: 'normalize', about: 'value', doc: 'A CIDR has host bits set; iptables silently masks them.' },
  'helper-unsupported': { severity: 'error', stage: 'normalize', about: 'relation', doc: 'A conntrack helper on a protocol or in a family the kernel has no such helper for: iptables-restore would refuse the rule.' },
  'family-mismatch': { severity: 'error', stage: 'normalize', about: 'value', doc: 'An address of a family the rule is restricted to exclude, or a rule that matches in no family.' },
  'port-invalid': { severity: 'error', stage: 'normalize', about: 'value', doc: "A port range written as text that is reversed (\"90-80\") or outside 1-65535 (\"1-70000\"); a port number outside 1-65535 is `schema-value`." },
  'port-needs-proto': { severity: 'error', stage: 'normalize', about: 'value', doc: 'Ports given for a protocol without ports (only tcp, udp, sctp have them).' },
  'rate-overflow': { severity: 'error', stage: 'normalize', about: 'value', doc: "A rate with a burst whose tokens overflow the kernel's counter: iptables-legacy refuses the ruleset." },
  'icmp-type-invalid': { severity: 'error', stage: 'normalize', about: 'value', doc: 'An ICMP type name unknown for the family, or given without proto icmp.' },
  'user-invalid': { severity: 'error', stage: 'normalize', about: 'value', doc: 'A user or group that is not a valid name, id or increasing id range.' },
  'interface-hook': { severity: 'error', stage: 'normalize', about: 'value', doc: 'An interface where the kernel cannot see it (an input interface on locally generated traffic).' },
  'unsafe-string': { severity: 'error', stage: 'normalize', about: 'value', doc: 'A free-text field with control characters, which could change the ruleset structure.' },
  'string-too-long': { severity: 'error', stage: 'normalize', about: 'value', doc: 'A comment (255 bytes) or log prefix (29 bytes) that iptables would silently truncate.' },
  'order-conflict': { severity: 'error', stage: 'normalize', about: 'relation', doc: 'Allow-before-deny ordering would let an allow override a deny the author wrote earlier.' },
  'interface-unknown': { severity: 'warning', stage: 'normalize', about: 'value', doc: 'An interface name not declared under `interfaces` although that map exists (likely a typo); never `lo`, which every host has.' },
  'table-reserved': { severity: 'error', stage: 'normalize', about: 'value', doc: "A mark's routing table is one of the kernel's own (253 default, 254 main, 255 local): its default route is the host's." },
  'route-conflict': { severity: 'error', stage: 'normalize', about: 'relation', doc: 'Two marks give one routing table different default routes; only one can be installed.' },
  'service-unknown': { severity: 'error', stage: 'normalize', about: 'relation', doc: 'A `service:` name that is neither built in nor in `services:`.' },
  'service-invalid': { severity: 'error', stage: 'normalize', about: 'relation', doc: 'A `services:` entry that redefines a built-in name or is not protocol/port, or a rule giving both `service` and `proto`/`port`.' },
  'forward-any-address': { severity: 'warning', stage: 'normalize', about: 'relation', doc: 'A port forward with neither `local-address` nor `host.addresses` (of its family): it catches its port on every address arriving by its interface, connections routed through this host to other hosts included.' },
  'forward-address': { severity: 'error', stage: 'normalize', about: 'relation', doc: "A port forward's or source NAT's address that cannot work: a forward to this host's own address (that is a redirect), more than one target per family, a hairpin without `local-address`." },
  'redirect-address': { severity: 'error', stage: 'normalize', about: 'relation', doc: "A redirect's `local-address` that is not one of this host's `host.addresses` (or with none listed): a redirect only ever delivers to this host." },
  'expansion-limit': { severity: 'error', stage: 'normalize', about: 'relation', doc: 'The policy expands past a limit: over 1,000,000 rules, 1,000,000 address set entries, 10,000,000 addresses read through set names, `${name}` variables putting in more than 32 MiB, or files over 256 MiB (reported at the rule that writes the most); reported where it went over (see policy.md, Limits).' },
  'redirect-duplicate': { severity: 'error', stage: 'normalize', about: 'relation', doc: 'Two translations claim the same connections (two redirects or port forwards on the same port, protocol and interface, or an snat and a masquerade), so only the first would apply.' },
  // check (lint over the IR)
  'no-established': { severity: 'warning', stage: 'check', doc: 'A default drop with the established/loopback preamble turned off: replies and loopback time out.' },
  'ssh-lockout': { severity: 'warning', stage: 'check', doc: 'INPUT drops by default and nothing allows tcp port 22.' },
  'hook-interface': { severity: 'error', stage: 'check', doc: 'An -i/-o match reachable from a hook where that interface does not exist.' },
  'hook-owner': { severity: 'error', stage: 'check', doc: 'An owner match reachable from PREROUTING, INPUT or FORWARD.' },
  'hook-redirect': { severity: 'error', stage: 'check', doc: 'REDIRECT or DNAT outside nat PREROUTING/OUTPUT.' },
  'hook-snat': { severity: 'error', stage: 'check', doc: 'SNAT outside nat INPUT/POSTROUTING, or MASQUERADE outside nat POSTROUTING.' },
  'hook-notrack': { severity: 'error', stage: 'check', doc: 'A CT target (notrack, helper) outside raw PREROUTING/OUTPUT.' },
  'hook-reject': { severity: 'error', stage: 'check', doc: 'REJECT outside filter INPUT/FORWARD/OUTPUT.' },
  'nat-filtering': { severity: 'error', stage: 'check', doc: 'DROP or REJECT in the nat table.' },
  'tcp-reset': { severity: 'error', stage: 'check', doc: 'REJECT with tcp-reset in a rule without -p tcp.' },
  'family-icmp': { severity: 'error', stage: 'check', doc: 'An ICMP type of the other family.' },
  'owner-name': { severity: 'warning', stage: 'check', doc: 'A user/group name that the host resolves at load time.' },
  'port-usually-udp': { severity: 'warning', stage: 'check', doc: 'A port that is usually UDP (DNS, NTP, SNMP, syslog, DHCP, TFTP, IKE, OpenVPN, WireGuard, mDNS, SSDP) without `proto`, which means tcp only; use `service:` or write `proto`.' },
  'family-asymmetry': { severity: 'warning', stage: 'check', doc: 'A deny or user block present in one family only.' },
  'redirect-local': { severity: 'warning', stage: 'check', doc: 'A redirect that leaves local traffic or the target port unspecified.' },
  'docker-flush': { severity: 'error', stage: 'check', doc: 'A `docker:` section without `ownership: coexist`: a full restore would wipe Docker\'s chains.' },
  'docker-published': { severity: 'warning', stage: 'check', doc: 'An inbound rule aimed at a published container port, which never reaches INPUT.' },
  'redirect-bypass': { severity: 'error', stage: 'check', doc: "An inbound deny (or an allowlist's deny) on a redirected port: the redirect moves those connections to its target port first, so the rule would never refuse them." },
  'hide-target-allow': { severity: 'error', stage: 'check', doc: 'An inbound allow of a port a redirect hides (`hide-target`): the hiding refuses those connections first, so the allow never applies.' },
  'shadowed': { severity: 'error', stage: 'check', doc: 'A rule never matches: earlier rules of its chain together decide all its packets (error if they decide differently, warning if redundant).' },
  'analysis-limit': { severity: 'warning', stage: 'check', doc: 'A rule whose shadowing could not be decided within the work budget: the earlier rules that overlap it cut its packets into more than 20,000 pieces. It is reported as neither dead nor live; split it or the rules before it into simpler ones (fewer ports or addresses each), or suppress this with a reason.' },
  'test-failed': { severity: 'error', stage: 'check', doc: 'An intent test (`tests:`) whose connections do not all get its `expect`ed verdict on the packet model; the message names the connections and the rule that decided them.' },
  'verify-disagrees': { severity: 'error', stage: 'verify', doc: "`ipfence verify`: real traffic for an intent test got another verdict from the kernel than the packet model's." },
  'ipv6-ndp': { severity: 'warning', stage: 'check', doc: 'IPv6 INPUT drops by default with ICMPv6 essentials turned off: neighbour discovery fails.' },
  'unused-suppression': { severity: 'warning', stage: 'config', doc: 'A `suppress` entry that silenced nothing: the finding it was written for is gone; remove it.' },
  // emit (guards of the output: what iptables would refuse or silently alter)
  'line-too-long': { severity: 'error', stage: 'emit', doc: 'An emitted rule line over 4096 bytes (iptables-restore splits lines past 10,239 bytes).' },
  'arg-too-long': { severity: 'error', stage: 'emit', doc: 'One argument over 1023 bytes or more than 254 arguments on a line.' },
  'nat-policy': { severity: 'error', stage: 'emit', doc: 'A nat chain policy other than ACCEPT.' },
  'multiport-limit': { severity: 'error', stage: 'emit', doc: 'More than 15 multiport slots in one match.' },
  'chain-name': { severity: 'error', stage: 'emit', doc: 'A chain name iptables refuses.' },
  'chain-loop': { severity: 'error', stage: 'emit', doc: 'A jump to an undeclared chain, or a jump loop.' },
  // verify
  'kernel-rejected': { severity: 'error', stage: 'verify', doc: 'A real load into a throwaway network namespace refused the compiled rule (e.g. a user name unknown on this host).' },
  // cli
  'stale-artifact': { severity: 'error', stage: 'cli', doc: 'With `check --against DIR`: a committed output differs from what the policy compiles to (a unified diff is printed), or the folder holds the record of a compile killed while writing it.' },
  'usage': { severity: 'error', stage: 'cli', doc: 'The command line is wrong.' },
  'io-write': { severity: 'error', stage: 'cli', doc: 'An output file could not be written.' },
  'inventory-invalid': { severity: 'error', stage: 'cli', doc: 'An inventory (`--inventory`) that cannot be used: an unknown key, a host name that cannot be a folder, a group that does not exist, two groups giving a host one variable differently.' },
  'diff-too-large': { severity: 'error', stage: 'cli', doc: "`ipfence diff`: the change splits the packets it touches into more pieces than diff follows (500,000 along the paths, 100,000 that change verdict in one direction, 50,000 in one walk), so it stops rather than run for minutes or out of memory; the message says which. Diff the change in smaller steps, or compare the compiled files. Exit 2." },
  'internal': { severity: 'error', stage: 'cli', doc: 'A bug in ipfence; please report it with the policy.' },
} as const satisfies Record<string, CodeEntry>;

/**
 * A normalize code says what it is about. value: one value on its own (an address, a port text,
 * a user), also looked for in the valid rest of a policy the schema refused, so that its author
 * sees `port: 70000` and `from: 300.1.1.1` in one run. relation: between rules (order, overlaps,
 * duplicates), which an incomplete policy would get wrong.
 */
type CodeEntry =
  | { readonly severity: Severity; readonly stage: 'normalize'; readonly about: 'value' | 'relation'; readonly doc: string }
  | { readonly severity: Severity; readonly stage: 'load' | 'validate' | 'check' | 'config' | 'emit' | 'verify' | 'cli'; readonly doc: string };

export type Severity = 'error' | 'warning';

/**
 * Findings a policy may re-grade (`checks:`) or silence at a rule (`suppress:`): judgements about
 * intent (warnings, shadowing). Never what the kernel or iptables would refuse or alter.
 */
export const SUPPRESSIBLE: readonly string[] = Object.entries(CODES)
  .filter(([code, c]) => (c.severity === 'warning' && c.stage !== 'config') || code === 'shadowed')
  .map(([code]) => code);
export type Code = keyof typeof CODES;

/** The codes about one value (see CodeEntry). */
export const VALUE_CODES: ReadonlySet<Code> = new Set((Object.keys(CODES) as Code[]).filter((code) => (CODES[code] as CodeEntry & { about?: string }).about === 'value'));
