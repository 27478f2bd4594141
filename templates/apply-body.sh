# ---- apply.sh's body: the same script for every policy (templates/apply-body.sh) ---------------
# Everything above this line is this policy's data, written by `ipfence compile` as plain
# assignments, each value one single-quoted word. Nothing below is generated.
#
# Loads this policy as one transaction: the rules of both families, the address sets and the
# policy routing, or, when any step fails, exactly what was live before. Run it as root. A second
# run changes nothing. See usage() below, or run apply.sh --help.
set -eu
umask 077
LC_ALL=C
export LC_ALL

# The data's lists, one entry a line (none for an empty list).
lines() { if [ -n "$1" ]; then printf '%s\n' "$1"; fi; }
# The files loaded here; each must come from the same compile as this script.
wanted_files() { lines "$FILES"; }
# coexist: the jumps into ipfence's chains: TABLE CHAIN TARGET start|end. (Full files hold theirs.)
wanted_hooks() { if [ "$1" = 4 ]; then lines "$HOOKS4"; else lines "$HOOKS6"; fi; }
# Policy routing for the marks: FAMILY rule PREF MARK TABLE, FAMILY route TABLE TO VIA DEV (- none).
wanted_routing() { lines "$ROUTING"; }

# ---- Helpers ---------------------------------------------------------------------------------
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)
self=$here/$(basename -- "$0")
IPT4=${IPFENCE_IPTABLES:-iptables}
IPT6=${IPFENCE_IP6TABLES:-ip6tables}
STATE=${IPFENCE_STATE_DIR:-/var/lib/ipfence}
# Set while this run holds them, for cleanup: the lock, the run's folder, a throwaway namespace,
# and the saved state to return to if a signal ends a change half way.
locked=
work=
netns=
changing=
# Set while a --confirm's watcher and pending/ exist for a change not yet begun: a failure removes them.
prepared=
# Set by --boot: a failure loads the last policy that ran, or the fallback, never leaves it open.
booting=
# Set by --check, which changes nothing in the state folder (not even a killed run's half-written folders).
checking=
# Root's own folder for the lock and each run's scratch files: /run is emptied at boot, and is
# not the state folder, so a full state folder cannot keep a rollback from running.
if [ -d /run ]; then RUNDIR=/run; else RUNDIR=$STATE; fi
# IPFENCE_LOCK: only for test labs running in parallel on one machine, each its own "host".
LOCK=${IPFENCE_LOCK:-$RUNDIR/ipfence.lock}

# The status a failure exits with: 1 (not applied), but 2 (could not tell) for --check.
fail_status=1
# A message that cannot be written (a full disk under the log) must not end the run half way.
say() { printf 'ipfence apply: %s\n' "$*" >&2 || true; }
fail() {
	say "$*"
	# --check's first line of standard output is its answer, which a monitoring check reads.
	if [ "$fail_status" = 2 ]; then echo "ipfence check: UNKNOWN: $*"; fi
	if [ -n "$booting" ]; then
		booting=
		boot_safe
	fi
	exit "$fail_status"
}
# A write into the state folder failed (full, read-only, quota).
cannot_write() { fail "cannot write $1 (is the disk under $STATE full?); nothing was changed"; }
have() { command -v "$1" >/dev/null 2>&1; }
ipt() { if [ "$1" = 4 ]; then printf '%s\n' "$IPT4"; else printf '%s\n' "$IPT6"; fi; }

cleanup() {
	# A --boot that ends any other way than through fail or success (set -e on a write that failed,
	# in a full /run) must not leave the host open either.
	if [ -n "$booting" ]; then
		booting=
		(boot_safe) || true
	fi
	if [ -n "$netns" ]; then ip netns del "$netns" 2>/dev/null || true; fi
	if [ -n "$work" ]; then rm -rf "$work"; fi
	if [ -n "$prepared" ]; then stop_watcher; fi
	if [ -n "$locked" ] && [ -z "$checking" ]; then rm -rf "$STATE/inflight.new" "$STATE/pending.new" "$STATE/last-good.new"; fi
	if [ -n "$locked" ]; then rm -rf "$LOCK"; fi
}
trap cleanup EXIT

# A signal during a change (a dropped session's HUP, Ctrl-C) must not leave the host half changed.
on_signal() {
	if [ -n "$changing" ]; then
		back=$changing
		changing=
		say "interrupted while changing the firewall; restoring the state that was live before"
		undo_apply "$back"
	fi
	exit 130
}
trap on_signal INT TERM HUP

# The state folder holds what root runs and loads later (a pending rollback's script, its tools
# and its saved rules) and the log root appends to. Whoever can change it, or any folder above it,
# or put a link in its place, could make root run anything: such a folder is refused, never
# repaired (a chmod would not undo what its owner already put there, and would change a shared
# folder like /var/lib). A folder that does not exist is created, private.
# "TYPE+MODE UID" of a path, as ls -ldn shows them (POSIX; stat's options differ between systems).
# shellcheck disable=SC2012 # one path, and only its mode and owner are read
mode_owner() { ls -ldn -- "$1" 2>/dev/null | awk 'NR == 1 { print $1, $3 }'; }
unsafe_fix="choose IPFENCE_STATE_DIR under a folder only root can change, e.g. /var/lib/ipfence"
unsafe() {
	fail "$1: $2; apply.sh runs as root what this folder holds, so it refuses it ($unsafe_fix); nothing was changed"
}
# PATH last|above|file: a real folder (or, for file, a regular file), not a link, owned by root, that
# no one else can write to. A folder above may be writable by others if it is sticky (/tmp): they
# cannot rename or remove root's entries.
check_root_only() {
	if [ -L "$1" ]; then unsafe "$1" "is a symbolic link"; fi
	case "$2" in
	file) [ -f "$1" ] || unsafe "$1" "is not a regular file" ;;
	*) [ -d "$1" ] || unsafe "$1" "is not a folder" ;;
	esac
	mo=$(mode_owner "$1")
	fmode=${mo%% *}
	# An ACL may let other users write whatever the mode bits say; a security context (.) may not.
	case "$fmode" in *+) unsafe "$1" "has an access control list (mode $fmode), which may let other users write to it" ;; esac
	fmode=${fmode%[.@]}
	fowner=${mo#* }
	if [ -z "$mo" ] || [ "$fowner" != 0 ]; then unsafe "$1" "is owned by uid ${fowner:-?}, not root"; fi
	case "$2:$fmode" in
	last:?????w* | last:????????w* | file:?????w* | file:????????w*) unsafe "$1" "can be written by users other than root (mode $fmode)" ;;
	above:*[tT]) ;;
	above:?????w* | above:????????w*) unsafe "$1" "can be written by users other than root (mode $fmode), and is not sticky" ;;
	esac
}
secure_state() {
	case "$STATE" in
	/*) ;;
	*) fail "IPFENCE_STATE_DIR must be an absolute path, not $STATE; nothing was changed" ;;
	esac
	check_root_only / above
	path=
	rest=${STATE#/}
	while [ -n "$rest" ]; do
		part=${rest%%/*}
		case "$rest" in */*) rest=${rest#*/} ;; *) rest= ;; esac
		case "$part" in '' | .) continue ;; ..) fail "IPFENCE_STATE_DIR must not contain '..' ($STATE); nothing was changed" ;; esac
		path=$path/$part
		if [ ! -e "$path" ] && [ ! -L "$path" ]; then mkdir -m 700 "$path" || fail "cannot create the state folder $path; nothing was changed"; fi
		if [ -n "$rest" ]; then check_root_only "$path" above; else check_root_only "$path" last; fi
	done
	[ -n "$path" ] || unsafe / "is not a folder of its own"
	for entry in lock log pending pending.new rolled-back failed-rollback inflight inflight.new last-good last-good.new; do
		if [ -L "$STATE/$entry" ]; then unsafe "$STATE/$entry" "is a symbolic link"; fi
	done
	if [ -e "$STATE/log" ] && [ ! -f "$STATE/log" ]; then unsafe "$STATE/log" "is not a regular file"; fi
	# Records apply.sh makes are folders: a file in their place (inflight as a file) would pass
	# --check's test for a record and then stop every apply at its first write.
	for entry in pending pending.new rolled-back failed-rollback inflight inflight.new last-good last-good.new; do
		if [ -e "$STATE/$entry" ] && [ ! -d "$STATE/$entry" ]; then unsafe "$STATE/$entry" "is not a folder apply.sh made, remove it"; fi
	done
	state_ok=yes
}
# Set once the state folder passed secure_state: until then nothing in it is read or run.
state_ok=

# One ipfence run at a time on a host, whatever state folder each names: the lock is host-wide
# (/run is root's and emptied at boot). A lock whose holder is gone (killed, or from before a
# reboot, whose pid may now be another process's) is taken over. "lock wait" waits as long as it
# takes (the rollback watcher: a confirmation that never came must be rolled back, however late).
lock() {
	secure_state
	boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
	tries=0
	until mkdir -m 700 "$LOCK" 2>/dev/null; do
		if [ -L "$LOCK" ] || [ ! -d "$LOCK" ]; then fail "$LOCK is not a folder apply.sh made; remove it; nothing was changed"; fi
		holder=$(cat "$LOCK/holder" 2>/dev/null || true)
		pid=${holder%% *}
		# No holder yet: taken a moment ago, or by a run killed before it wrote one.
		if { [ -n "$holder" ] && { [ "${holder#* }" != "$boot_id" ] || ! kill -0 "$pid" 2>/dev/null; }; } || { [ -z "$holder" ] && [ "$tries" -ge 5 ]; }; then
			rm -rf "$LOCK"
			continue
		fi
		tries=$((tries + 1))
		[ "${1-}" = wait ] || [ "$tries" -le 30 ] || fail "another ipfence run (pid ${pid:-?}) holds $LOCK; try again when it is done; nothing was changed"
		sleep 1
	done
	locked=yes
	echo "$$ $boot_id" >"$LOCK/holder" || fail "cannot write $LOCK/holder; nothing was changed"
	# The scratch folders of runs that were killed (a live one's process still runs).
	for old in "$RUNDIR"/ipfence.run.*; do
		if [ -d "$old" ] && ! kill -0 "${old##*.}" 2>/dev/null; then rm -rf "$old"; fi
	done
}

# A private folder for this run's scratch files.
make_work() {
	work=$RUNDIR/ipfence.run.$$
	rm -rf "$work"
	mkdir -m 700 "$work" || fail "cannot create $work; nothing was changed"
}

# ---- Before anything changes -----------------------------------------------------------------

# Every file of this compile is here and carries this script's version and policy hash (two
# compiles into one folder, or a copy cut short, are refused), and every tool is installed.
# The folder of apply.sh and its files, and every folder above it, under the same rule as the state
# folder: another user who could write there could swap a rules file (keeping its header) or this
# script itself for the next run.
secure_here() {
	unsafe_fix="keep the compiled files in a folder only root can change, e.g. /etc/ipfence, owned by root"
	path=
	check_root_only / above
	rest=${here#/}
	while [ -n "$rest" ]; do
		part=${rest%%/*}
		case "$rest" in */*) rest=${rest#*/} ;; *) rest= ;; esac
		path=$path/$part
		if [ -n "$rest" ]; then check_root_only "$path" above; else check_root_only "$path" last; fi
	done
	{ basename -- "$self" && cat "$work/files"; } >"$work/own" || fail "cannot write $work/own; nothing was changed"
	while read -r f; do
		# A missing file is said by preflight, with what to do.
		if [ -e "$here/$f" ] || [ -L "$here/$f" ]; then check_root_only "$here/$f" file; fi
	done <"$work/own"
	unsafe_fix="choose IPFENCE_STATE_DIR under a folder only root can change, e.g. /var/lib/ipfence"
}

preflight() {
	[ "$(id -u)" = 0 ] || fail "run apply.sh as root; nothing was changed"
	wanted_files >"$work/files"
	secure_here
	while read -r f; do
		[ -f "$here/$f" ] || fail "$here/$f is missing: copy every file of the compile; nothing was changed"
		case "$(sed -n '1,2p' "$here/$f")" in
		*"# Generated by ipfence $VERSION from "*"(sha256 $POLICY_SHA256)"*) ;;
		*) fail "$here/$f is not from the compile that wrote apply.sh (its header lacks ipfence $VERSION and sha256 $POLICY_SHA256): the folder mixes two compiles; compile again into an empty folder and copy all of it; nothing was changed" ;;
		esac
	done <"$work/files"
	for tool in "$IPT4" "$IPT6"; do
		if ! { have "$tool-restore" && have "$tool-save"; }; then fail "$tool-restore or $tool-save is not installed (apt-get install iptables); nothing was changed"; fi
	done
	if grep -qx ipsets "$work/files"; then have ipset || fail "the rules use address sets: install ipset (apt-get install ipset); nothing was changed"; fi
	wanted_routing >"$work/routing"
	if [ -s "$work/routing" ]; then have ip || fail "policy routing needs ip (apt-get install iproute2); nothing was changed"; fi
}

# The state to converge to, gathered in one folder: the mode, both families' files, the hooks, the
# sets and the routing. A rollback is a folder of the same form, made from the live host.
stage() {
	mkdir "$1" || cannot_write "$1"
	echo "$OWNERSHIP" >"$1/mode" || cannot_write "$1/mode"
	echo "$SOURCE, sha256 $POLICY_SHA256" >"$1/about" || cannot_write "$1/about"
	while read -r f; do cp "$here/$f" "$1/$f" || cannot_write "$1/$f"; done <"$work/files"
	wanted_hooks 4 >"$1/hooks.v4" || cannot_write "$1/hooks.v4"
	wanted_hooks 6 >"$1/hooks.v6" || cannot_write "$1/hooks.v6"
	cp "$work/routing" "$1/routing" || cannot_write "$1/routing"
}

# What is live now, as a state to return to. A full apply replaces whole tables, so its rollback
# is the whole tables as saved; a coexisting one touches only ipfence's chains, jumps and the
# policies it sets, so its rollback returns those and leaves what other tools did meanwhile.
save_state() {
	mkdir "$1" || cannot_write "$1"
	echo "$OWNERSHIP" >"$1/mode" || cannot_write "$1/mode"
	for fam in 4 6; do
		tool=$(ipt "$fam")
		"$tool-save" >"$1/saved.v$fam" || fail "cannot read the live IPv$fam ruleset ($tool-save), so a failure could not be rolled back; nothing was changed"
		if grep -q "is incompatible, use 'nft' tool" "$1/saved.v$fam"; then
			fail "IPv$fam: $tool-save cannot show every table (another tool uses nft directly), so a failure could not be rolled back; nothing was changed"
		fi
		if [ "$OWNERSHIP" = full ]; then
			snapshot_full <"$1/saved.v$fam" >"$1/rules.v$fam" || cannot_write "$1/rules.v$fam"
			: >"$1/hooks.v$fam" || cannot_write "$1/hooks.v$fam"
		else
			snapshot_coexist "$1/hooks.v$fam" <"$1/saved.v$fam" >"$1/rules.v$fam" || cannot_write "$1/rules.v$fam"
		fi
	done
	if have ipset; then
		ipset save >"$1/saved.sets" || fail "cannot read the live address sets (ipset save); nothing was changed"
		snapshot_sets <"$1/saved.sets" >"$1/ipsets" || cannot_write "$1/ipsets"
	fi
	routing_now >"$1/routing" || fail "cannot read the live policy routing (ip rule, ip route); nothing was changed"
}

# A saved ruleset, restorable as it is; a table ipfence owns that did not exist is loaded empty.
snapshot_full() {
	awk '
		/^#/ { next }
		/^\*/ { seen[substr($0, 2)] = 1 }
		{ print }
		END {
			if (!("filter" in seen)) print "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT"
			if (!("nat" in seen)) print "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT"
			if (!("mangle" in seen)) print "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT"
			if (!("raw" in seen)) print "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT"
		}'
}

# ipfence's part of a saved ruleset, as a --noflush file (its chains, and the policies this policy
# sets), with its jumps written to HOOKS.
snapshot_coexist() {
	awk -v hooks="$1" -v explicit="$EXPLICIT" '
		BEGIN { n = split(explicit, e, " "); for (i = 1; i <= n; i++) set[e[i]] = 1; printf "" > hooks }
		function ours(c) { return c ~ /^(IPFENCE-|ipf-)/ }
		/^\*/ { table = substr($0, 2); print; next }
		/^COMMIT$/ { print; next }
		/^:/ {
			c = substr($1, 2)
			if (ours(c)) print ":" c " - [0:0]"
			else if ((table "/" c) in set) print ":" c " " $2 " [0:0]"
			next
		}
		/^-A / {
			if (ours($2)) print
			else if (NF == 4 && $3 == "-j" && ours($4)) print table, $2, $4, ($4 ~ /-DEFAULT$/ ? "end" : "start") > hooks
		}'
}

# ipfence's sets (ipf-*) from `ipset save`, renamed NAME-new as load_sets expects them.
snapshot_sets() {
	awk '($1 == "create" || $1 == "add") && $2 ~ /^ipf-/ && $2 !~ /-new$/ { $2 = $2 "-new"; print }'
}

# ---- Converging to a state -------------------------------------------------------------------

# Makes the host hold what a state folder describes, in a process of its own (--converge): there
# `set -e` ends it at the first failure, whatever context the caller runs in (a shell ignores
# `set -e` in a function called under `if` or `||`, in subshells too), and the caller rolls back.
converge_child() {
	IPFENCE_IPTABLES=$IPT4 IPFENCE_IP6TABLES=$IPT6 IPFENCE_STATE_DIR=$STATE sh "$self" --converge "$@"
}
converge() {
	mode=$(cat "$1/mode")
	load_sets "$1"
	for fam in 4 6; do
		if [ "$mode" = full ]; then load_full "$fam" "$1"; else load_coexist "$fam" "$1"; fi
	done
	prune_sets "$1"
	if [ "${2-}" != rules-only ]; then converge_routing "$1/routing"; fi
}

# A full file replaces every table it names (all four that ipfence owns), user chains included.
load_full() {
	tool=$(ipt "$1")
	"$tool-restore" <"$2/rules.v$1" || fail "IPv$1: $tool-restore refused rules.v$1"
}

# A coexisting file refills ipfence's chains only (--noflush); then the jumps go in their places,
# and the jumps and chains of an earlier policy (or of a full one) that this state lacks go.
load_coexist() {
	tool=$(ipt "$1")
	"$tool-restore" --noflush <"$2/rules.v$1" || fail "IPv$1: $tool-restore --noflush refused rules.v$1"
	place_hooks "$tool" "$2/hooks.v$1"
	"$tool-save" >"$work/now.v$1" || fail "IPv$1: $tool-save failed"
	stale_parts "$2/hooks.v$1" "$2/rules.v$1" "$work/now.v$1" >"$work/stale.v$1"
	while read -r what table chain target; do
		if [ "$what" = hook ]; then
			while "$tool" -t "$table" -D "$chain" -j "$target" 2>/dev/null; do :; done
		fi
	done <"$work/stale.v$1"
	# Flush every stale chain before deleting any: they may jump to each other.
	while read -r what table chain target; do
		if [ "$what" = chain ]; then "$tool" -t "$table" -F "$chain" || fail "IPv$1: cannot flush the stale chain $chain ($table)"; fi
	done <"$work/stale.v$1"
	while read -r what table chain target; do
		if [ "$what" = chain ]; then "$tool" -t "$table" -X "$chain" || fail "IPv$1: cannot delete the stale chain $chain ($table): does another tool jump to it?"; fi
	done <"$work/stale.v$1"
}

# Jumps into ipfence's chains and ipfence's chains in SAVED that HOOKS and RULES do not have.
stale_parts() {
	awk '
		FILENAME == ARGV[1] { hook[$1 " " $2 " " $3] = 1; next }
		FILENAME == ARGV[2] { if (/^\*/) t = substr($0, 2); else if (/^:/) chain[t " " substr($1, 2)] = 1; next }
		function ours(c) { return c ~ /^(IPFENCE-|ipf-)/ }
		/^\*/ { t = substr($0, 2); next }
		/^:/ { c = substr($1, 2); if (ours(c) && !((t " " c) in chain)) print "chain", t, c, "-"; next }
		/^-A / && NF == 4 && $3 == "-j" && ours($4) && !ours($2) { if (!((t " " $2 " " $4) in hook)) print "hook", t, $2, $4 }
	' "$1" "$2" "$3"
}

# CMD HOOKS: every jump of HOOKS in its place. The ends first: a jump that must run first but sits
# after ipfence's default verdict (appended later by its tool) is then ahead of it before ipfence's
# own jump moves behind it, so the default verdict never runs ahead of ipfence's rules.
place_hooks() {
	for where in end start; do
		while read -r table chain target at; do
			if [ "$at" = "$where" ]; then place_hook "$1" "$table" "$chain" "$target" "$at"; fi
		done <"$2"
	done
}

# awk's first(NAME): NAME is one of RUN_FIRST's lines, or starts with the prefix of one ending in
# "*". Compared as text: a name's "." or "+" is only itself, never a pattern. RUN_FIRST reaches
# awk through the environment, which (unlike -v) leaves its backslashes alone.
RUN_FIRST_AWK='
		BEGIN { nfirst = split(ENVIRON["IPFENCE_RUN_FIRST"], pats, "\n") }
		function first(name,   i, p, l) {
			for (i = 1; i <= nfirst; i++) {
				p = pats[i]; l = length(p)
				if (l > 0 && substr(p, l) == "*") { if (substr(name, 1, l - 1) == substr(p, 1, l - 1)) return 1 }
				else if (name == p) return 1
			}
			return 0
		}'

# CMD TABLE CHAIN TARGET: the number of rules in CHAIN, the position of the first and the last
# "-j TARGET", how many there are, and the position of the last rule that must run first: a jump
# to a run-first chain, or a rule matching a run-first set (fail2ban's ipset actions write
# "-A INPUT -m set --match-set f2b-sshd src -j REJECT", with no chain of their own).
hook_state() {
	"$1" -t "$2" -S "$3" 2>/dev/null | IPFENCE_RUN_FIRST=$RUN_FIRST awk -v target="$4" "$RUN_FIRST_AWK"'
		$1 != "-A" { next }
		{ n++ }
		NF == 4 && $3 == "-j" && $4 == target { count++; if (!head) head = n; tail = n; next }
		{ for (i = 3; i < NF; i++) if (($i == "-j" || $i == "-g" || $i == "--match-set") && first($(i + 1))) before = n }
		END { print n + 0, head + 0, tail + 0, count + 0, before + 0 }'
}

# CMD TABLE CHAIN TARGET start|end: exactly one "-j TARGET" in CHAIN, after every jump that must
# run first (start), or as the chain's last rule (end). The new jump goes in before the old ones
# are removed, so the chain is never without it. Checked again in case a tool moved rules meanwhile.
place_hook() {
	if [ "$3" = DOCKER-USER ]; then docker_user "$1"; fi
	tries=0
	while :; do
		read -r total head tail count before <<EOF
$(hook_state "$1" "$2" "$3" "$4")
EOF
		if [ "$5" = end ]; then
			[ "$count" -eq 1 ] && [ "$tail" -eq "$total" ] && return 0
		else
			[ "$count" -eq 1 ] && [ "$head" -gt "$before" ] && return 0
		fi
		[ "$tries" -lt 3 ] || fail "cannot keep the jump from $3 to $4 in place ($2 table, $1): another tool keeps moving rules"
		tries=$((tries + 1))
		if [ "$5" = end ]; then
			"$1" -t "$2" -A "$3" -j "$4" || fail "cannot add the jump from $3 to $4 ($2 table, $1)"
		else
			"$1" -t "$2" -I "$3" "$((before + 1))" -j "$4" || fail "cannot add the jump from $3 to $4 ($2 table, $1)"
		fi
		# -D removes the first match: the jumps that were there before, ahead of the new one.
		while [ "$count" -gt 0 ]; do
			"$1" -t "$2" -D "$3" -j "$4" || fail "cannot remove a misplaced jump from $3 to $4 ($2 table, $1)"
			count=$((count - 1))
		done
	done
}

# Docker adds its FORWARD jump to DOCKER-USER only if that chain does not exist when Docker starts
# (moby/libnetwork#2631), so the chain and the jump are made here when missing.
docker_user() {
	"$1" -t filter -n -L DOCKER-USER >/dev/null 2>&1 || "$1" -t filter -N DOCKER-USER || fail "cannot create DOCKER-USER ($1)"
	"$1" -t filter -C FORWARD -j DOCKER-USER 2>/dev/null || "$1" -t filter -I FORWARD 1 -j DOCKER-USER || fail "cannot jump from FORWARD to DOCKER-USER ($1)"
}

# The names of the sets in an ipsets payload (created there as NAME-new).
sets_of() { awk '$1 == "create" { n = $2; sub(/-new$/, "", n); print n }' "$1"; }

# Each set is filled under NAME-new, then swapped in (renamed on first load): a live set is never
# empty or half filled. Rules refer to sets, so sets come first.
load_sets() {
	[ -f "$1/ipsets" ] || return 0
	sets_of "$1/ipsets" >"$work/sets"
	[ -s "$work/sets" ] || return 0
	have ipset || fail "the rules use address sets: install ipset (apt-get install ipset)"
	while read -r s; do ipset destroy "$s-new" 2>/dev/null || true; done <"$work/sets"
	ipset restore <"$1/ipsets" || fail "ipset restore refused $1/ipsets"
	while read -r s; do
		if ipset list -n "$s" >/dev/null 2>&1; then
			ipset swap "$s-new" "$s" || fail "cannot swap in the new contents of set $s"
			ipset destroy "$s-new" || fail "cannot remove the old contents of set $s"
		else
			ipset rename "$s-new" "$s" || fail "cannot create set $s"
		fi
	done <"$work/sets"
}

# ipfence's sets that the state does not have, once no rule of ipfence's refers to them (and what
# a killed run left under NAME-new).
prune_sets() {
	have ipset || return 0
	if [ -f "$1/ipsets" ]; then sets_of "$1/ipsets" >"$work/keep"; else : >"$work/keep"; fi
	ipset list -n >"$work/present" || fail "cannot list the address sets (ipset list -n)"
	while read -r s; do
		case "$s" in ipf-*) ;; *) continue ;; esac
		grep -qxF "$s" "$work/keep" && continue
		ipset destroy "$s" 2>/dev/null || say "set $s is no longer used by this policy, but something still refers to it; it was left in place"
	done <"$work/present"
}

# The routing entries ipfence installed (those tagged RTPROTO), in wanted_routing's form.
routing_now() {
	have ip || return 0
	for fam in 4 6; do
		# -N: numbers, not the names rt_tables may give a table; an older ip without it prints names.
		ip -N -"$fam" rule show >"$work/rules.now" 2>/dev/null || ip -"$fam" rule show >"$work/rules.now" || return 1
		ip -N -"$fam" route show table all proto "$RTPROTO" >"$work/routes.now" 2>/dev/null || ip -"$fam" route show table all proto "$RTPROTO" >"$work/routes.now" || return 1
		awk -v fam="$fam" -v proto="$RTPROTO" '
			{ tagged = 0; mark = "-"; table = "-"
			  for (i = 2; i < NF; i++) {
				if ($i == "proto" && $(i + 1) == proto) tagged = 1
				if ($i == "fwmark") mark = $(i + 1)
				if ($i == "lookup" || $i == "table") table = $(i + 1)
			  }
			  pref = $1; sub(/:$/, "", pref)
			  if (tagged) print fam, "rule", pref, mark, table }' "$work/rules.now" || return 1
		awk -v fam="$fam" '
			{ via = "-"; dev = "-"; table = 254
			  for (i = 2; i < NF; i++) {
				if ($i == "via") via = $(i + 1)
				if ($i == "dev") dev = $(i + 1)
				if ($i == "table") table = $(i + 1)
			  }
			  print fam, "route", table, $1, via, dev }' "$work/routes.now" || return 1
	done
}

# routing_diff missing|extra WANTED NOW: the wanted entries that nothing live matches, or the live
# ones that nothing wanted matches. A route wanted without a gateway or device matches any.
routing_diff() {
	awk -v mode="$1" '
		function same(w, l,  a, b) {
			split(w, a, " "); split(l, b, " ")
			if (a[1] != b[1] || a[2] != b[2] || a[3] != b[3] || a[4] != b[4]) return 0
			if (a[2] == "rule") return a[5] == b[5]
			return (a[5] == "-" || a[5] == b[5]) && (a[6] == "-" || a[6] == b[6])
		}
		FILENAME == ARGV[1] { want[++nw] = $0; next }
		{ now[++nn] = $0 }
		END {
			if (mode == "missing") { for (i = 1; i <= nw; i++) { hit = 0; for (j = 1; j <= nn; j++) if (same(want[i], now[j])) hit = 1; if (!hit) print want[i] } }
			else { for (j = 1; j <= nn; j++) { hit = 0; for (i = 1; i <= nw; i++) if (same(want[i], now[j])) hit = 1; if (!hit) print now[j] } }
		}' "$2" "$3"
}

# Routes first (replace is atomic), then rules, then what an earlier policy installed and this
# state does not want: marked traffic never meets a table without its route.
converge_routing() {
	want=$1
	routing_now >"$work/routing.now" || fail "cannot read the live policy routing (ip rule, ip route)"
	[ -s "$want" ] || [ -s "$work/routing.now" ] || return 0
	have ip || fail "policy routing needs ip (apt-get install iproute2)"
	while read -r fam kind a b c d; do
		[ "$kind" = route ] || continue
		set -- "$b"
		[ "$c" = - ] || set -- "$@" via "$c"
		[ "$d" = - ] || set -- "$@" dev "$d"
		ip -"$fam" route replace "$@" table "$a" proto "$RTPROTO" || fail "IPv$fam: cannot set the route to $b in table $a"
	done <"$want"
	while read -r fam kind a b c; do
		[ "$kind" = rule ] || continue
		grep -qxF "$fam rule $a $b $c" "$work/routing.now" ||
			ip -"$fam" rule add pref "$a" fwmark "$b" table "$c" protocol "$RTPROTO" || fail "IPv$fam: cannot add the rule fwmark $b table $c"
	done <"$want"
	routing_diff extra "$want" "$work/routing.now" >"$work/routing.stale" || fail "cannot write $work/routing.stale"
	while read -r fam kind a b c d; do
		if [ "$kind" = rule ]; then
			ip -"$fam" rule del pref "$a" fwmark "$b" table "$c" protocol "$RTPROTO" || fail "IPv$fam: cannot remove the stale rule fwmark $b table $c"
		fi
	done <"$work/routing.stale"
	while read -r fam kind a b c d; do
		if [ "$kind" = route ]; then
			ip -"$fam" route del "$b" table "$a" proto "$RTPROTO" || fail "IPv$fam: cannot remove the stale route to $b in table $a"
		fi
	done <"$work/routing.stale"
}

# ---- The transaction -------------------------------------------------------------------------
#
# While a change is under way the state folder holds a record of it: inflight/, the state that was
# live before (written whole, then renamed into place, before the first change; renamed away when
# the change is done, which is its commit). A run killed half way (SIGKILL, a crash) leaves it, and
# the next run returns the host to it before anything else. Everything that needs room in the
# state folder (the record, --confirm's saved state and its watcher, the copy --boot falls back
# to) is written before the first change, so a full disk fails before the host changes.

# NAME: a folder of the state folder removed at once (renamed, then deleted), so that a run killed
# meanwhile never leaves half of it. Fails only if the rename does.
drop() {
	[ -e "$STATE/$1" ] || return 0
	rm -rf "$STATE/$1.old.$$"
	mv "$STATE/$1" "$STATE/$1.old.$$" || return 1
	rm -rf "$STATE/$1.old.$$"
}

# Converges back to a saved state; says how it went. Fails (status 1) when the state is unknown.
roll_back() {
	if converge_child "$1"; then
		say "rolled back: the host runs what it ran before (rules of both families, address sets, routing); nothing of this policy is live"
		return 0
	fi
	rm -rf "$STATE/failed-rollback"
	cp -R "$1" "$STATE/failed-rollback" 2>/dev/null || true
	say "THE ROLLBACK FAILED TOO (the step above): the firewall is in an unknown state. The state saved before the apply is in $STATE/failed-rollback (saved.v4, saved.v6 from iptables-save, saved.sets from ipset save)"
	return 1
}

# A change failed or was interrupted: back to BACKUP (at boot, to the last policy that ran or the
# fallback instead), and what this run prepared goes with it. Exits 1, or 3 when the rollback
# failed (the record then stays, for the next run to try again).
undo_apply() {
	changing=
	if [ -n "$booting" ]; then
		booting=
		boot_safe
	fi
	if roll_back "$1"; then
		stop_watcher
		drop pending.new || true
		drop last-good.new || true
		drop inflight || true
		exit 1
	fi
	exit 3
}

# The watcher of a --confirm this run started, if any: it must not roll back what was undone.
stop_watcher() {
	if [ -n "${confirm_token-}" ] && [ "$(cat "$STATE/pending/token" 2>/dev/null || true)" = "$confirm_token" ]; then
		read -r wpid _ <"$STATE/pending/watcher" 2>/dev/null || wpid=
		drop pending || true
		if [ -n "$wpid" ]; then kill "$wpid" 2>/dev/null || true; fi
	fi
}

# Is the watcher of pending/ still waiting? Not after a reboot, nor once it was killed (a killed
# process not yet reaped still answers kill -0, and its pid may be reused: its command line says).
watcher_alive() {
	read -r wpid wboot <"$STATE/pending/watcher" 2>/dev/null || return 1
	[ "$wboot" = "$boot_id" ] && kill -0 "$wpid" 2>/dev/null || return 1
	[ -r "/proc/$wpid/cmdline" ] || return 0
	case "$(tr '\000' ' ' <"/proc/$wpid/cmdline" 2>/dev/null)" in *--rollback-after*) return 0 ;; esac
	return 1
}

# What a killed run left: a change half done (inflight/), a --confirm whose watcher is gone, and
# half written folders. Run after taking the lock, before anything else. Sets $recovered to
# "pending" when an unconfirmed apply was rolled back here.
recovered=
recover() {
	rm -rf "$STATE/inflight.new" "$STATE/pending.new" "$STATE/last-good.new"
	if [ ! -d "$STATE/last-good" ]; then
		for old in "$STATE"/last-good.old.*; do
			if [ -d "$old" ]; then mv "$old" "$STATE/last-good" && break; fi
		done
	fi
	for old in "$STATE"/inflight.old.* "$STATE"/pending.old.* "$STATE"/last-good.old.*; do
		if [ -e "$old" ]; then rm -rf "$old"; fi
	done
	if [ -d "$STATE/inflight" ]; then
		say "an earlier run was stopped half way through a change ($(cat "$STATE/inflight/about" 2>/dev/null || echo '?')); restoring the state that was live before it"
		if converge_child "$STATE/inflight"; then
			say "restored the state that was live before that run"
		else
			rm -rf "$STATE/failed-rollback"
			mv "$STATE/inflight" "$STATE/failed-rollback" || true
			say "could not restore it (the step above); what it saved is in $STATE/failed-rollback"
		fi
		drop pending || true
		drop inflight || fail "cannot remove $STATE/inflight"
	fi
	if [ -d "$STATE/pending" ] && ! watcher_alive; then
		say "the last apply ($(cat "$STATE/pending/about" 2>/dev/null || echo '?')) was never confirmed; loading what ran before it (its rollback watcher is gone: the machine rebooted, or it was killed)"
		if converge_child "$STATE/pending"; then
			say "rolled back: the host runs what it ran before that apply"
			rm -rf "$STATE/rolled-back"
			mv "$STATE/pending" "$STATE/rolled-back" || drop pending || fail "cannot remove $STATE/pending"
			recovered=pending
		else
			rm -rf "$STATE/failed-rollback"
			cp -R "$STATE/pending" "$STATE/failed-rollback" 2>/dev/null || true
			drop pending || true
			say "THE ROLLBACK FAILED (the step above); what was saved before that apply is in $STATE/failed-rollback"
		fi
	fi
}

# The copy of the state this run applied becomes the one --boot falls back to (best effort: only
# --boot reads it, and the change is already done).
keep_last_good() {
	[ -d "$STATE/last-good.new" ] || return 0
	rm -rf "$STATE/last-good.old.$$"
	if [ -d "$STATE/last-good" ] && ! mv "$STATE/last-good" "$STATE/last-good.old.$$"; then
		say "could not keep a copy of this policy for --boot in $STATE/last-good"
		return 0
	fi
	mv "$STATE/last-good.new" "$STATE/last-good" || say "could not keep a copy of this policy for --boot in $STATE/last-good"
	rm -rf "$STATE/last-good.old.$$"
}

apply_now() {
	lock
	make_work
	recover
	if [ -n "$booting" ] && [ "$recovered" = pending ]; then
		booting=
		exit 0
	fi
	if [ -d "$STATE/pending" ]; then
		booting=
		fail "an earlier apply is waiting for confirmation ($(cat "$STATE/pending/about" 2>/dev/null || echo '?')): run '$self --confirmed' or let it roll back first; nothing was changed"
	fi
	preflight
	stage "$work/next"
	save_state "$work/back"
	# Before the change, everything that needs room.
	cp -R "$work/next" "$STATE/last-good.new" || cannot_write "$STATE/last-good.new"
	cp -R "$work/back" "$STATE/inflight.new" || cannot_write "$STATE/inflight.new"
	echo "$SOURCE, sha256 $POLICY_SHA256, started $(date)" >"$STATE/inflight.new/about" || cannot_write "$STATE/inflight.new/about"
	if [ -n "$1" ]; then prepare_confirmation "$1"; fi
	mv "$STATE/inflight.new" "$STATE/inflight" || cannot_write "$STATE/inflight"
	changing=$STATE/inflight
	prepared=
	if ! converge_child "$work/next"; then
		say "the new state could not be loaded (the step above failed); restoring the state that was live before"
		undo_apply "$STATE/inflight"
	fi
	# The commit: once the record is gone, this state is the one a later run starts from.
	if ! drop inflight; then
		say "cannot remove $STATE/inflight; restoring the state that was live before"
		undo_apply "$STATE/inflight"
	fi
	changing=
	booting=
	if [ -n "$1" ]; then
		# Applied: a report that cannot be written (a full or closed stdout) must not turn it into exit 1.
		echo "ipfence apply: $SOURCE applied ($OWNERSHIP, sha256 $POLICY_SHA256); it is rolled back in $1 s unless you run, over a NEW connection: $self --confirmed" || true
	else
		keep_last_good
		echo "ipfence apply: $SOURCE applied ($OWNERSHIP, sha256 $POLICY_SHA256)" || true
	fi
}

# ---- Confirmation ----------------------------------------------------------------------------

# SECS: before the change, the saved state in pending/ and a watcher, detached from this session,
# that rolls back to it after SECS seconds unless --confirmed removes it first. The watcher runs a
# copy of this script, so a new compile copied into this folder meanwhile changes nothing. It
# starts before the change, so no signal can land between a change and its watcher.
prepare_confirmation() {
	prepared=yes
	cp -R "$work/back" "$STATE/pending.new" || cannot_write "$STATE/pending.new"
	mv "$STATE/last-good.new" "$STATE/pending.new/next" || cannot_write "$STATE/pending.new/next"
	cp "$self" "$STATE/pending.new/apply.sh" || cannot_write "$STATE/pending.new/apply.sh"
	printf '%s\n%s\n' "$IPT4" "$IPT6" >"$STATE/pending.new/tools" || cannot_write "$STATE/pending.new/tools"
	confirm_token=$$.$(date +%s)
	echo "$confirm_token" >"$STATE/pending.new/token" || cannot_write "$STATE/pending.new/token"
	echo "$SOURCE, sha256 $POLICY_SHA256, applied $(date)" >"$STATE/pending.new/about" || cannot_write "$STATE/pending.new/about"
	mv "$STATE/pending.new" "$STATE/pending" || cannot_write "$STATE/pending"
	if have setsid; then
		setsid sh "$STATE/pending/apply.sh" --rollback-after "$1" "$confirm_token" </dev/null >>"$STATE/log" 2>&1 &
	else
		nohup sh "$STATE/pending/apply.sh" --rollback-after "$1" "$confirm_token" </dev/null >>"$STATE/log" 2>&1 &
	fi
	watcher=$!
	# Killed before this line, the next run finds pending/ without a watcher and rolls it back: a
	# no-op, as nothing has changed yet.
	if ! echo "$watcher $boot_id" >"$STATE/pending/watcher"; then
		kill "$watcher" 2>/dev/null || true
		drop pending || true
		cannot_write "$STATE/pending/watcher"
	fi
}

# The watcher: after SECS seconds, the state saved before the apply, unless it was confirmed.
rollback_after() {
	# In the background, so that --confirmed's signal ends the sleep too.
	sleep "$1" &
	sleeper=$!
	trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
	wait "$sleeper" || true
	trap on_signal TERM
	{ read -r IPT4 && read -r IPT6; } <"$STATE/pending/tools" 2>/dev/null || true
	# However long another run holds the lock: a confirmation that never came is rolled back.
	lock wait
	[ "$(cat "$STATE/pending/token" 2>/dev/null || true)" = "$2" ] || exit 0
	self=$STATE/pending/apply.sh
	make_work
	echo "ipfence apply: $(date): not confirmed within $1 s: rolling back $(cat "$STATE/pending/about" 2>/dev/null || echo '?')" || true
	if roll_back "$STATE/pending"; then
		rm -rf "$STATE/rolled-back"
		mv "$STATE/pending" "$STATE/rolled-back" || drop pending || true
		exit 0
	fi
	exit 3
}

confirm() {
	lock
	make_work
	if [ ! -d "$STATE/pending" ]; then
		if [ -f "$STATE/rolled-back/about" ]; then
			fail "nothing to confirm: the apply of $(cat "$STATE/rolled-back/about") was not confirmed in time and was rolled back (see $STATE/log)"
		fi
		fail "nothing to confirm: no apply is waiting for confirmation"
	fi
	if [ -d "$STATE/inflight" ]; then
		fail "not confirmed: that apply was stopped half way through its change ($(cat "$STATE/inflight/about" 2>/dev/null || echo '?')); run apply.sh again, which first restores what ran before it"
	fi
	read -r wpid _ <"$STATE/pending/watcher" 2>/dev/null || wpid=
	about=$(cat "$STATE/pending/about" 2>/dev/null || true)
	rm -rf "$STATE/last-good.new"
	if [ -d "$STATE/pending/next" ]; then mv "$STATE/pending/next" "$STATE/last-good.new" || true; fi
	# The commit: once pending/ is gone, the watcher finds nothing to roll back.
	drop pending || fail "cannot remove $STATE/pending: not confirmed"
	rm -rf "$STATE/rolled-back"
	if [ -n "$wpid" ]; then kill "$wpid" 2>/dev/null || true; fi
	keep_last_good
	echo "ipfence apply: confirmed: $about stays"
}

# At boot: an apply never confirmed before the reboot (the watcher died with the machine) must not
# come back; what ran before it is loaded instead. Otherwise this policy is applied; if it cannot
# be (the kernel refuses it, a file is missing), the host must not start open: boot_safe.
boot() {
	booting=yes
	apply_now ""
}

# Loads the last policy that ran here (kept in last-good/ by every apply that succeeded, and by
# --confirmed), else the fallback compiled with this policy: every connection in is refused but
# loopback, replies, and the policy's own SSH access. Says so on standard error (the journal).
boot_safe() {
	changing=
	say "this policy could not be loaded at boot (the step above); the host must not start open"
	if [ -n "$state_ok" ]; then stop_watcher; fi
	if [ -n "$state_ok" ] && [ -d "$STATE/last-good" ] && converge_child "$STATE/last-good"; then
		say "loaded the last policy that ran here instead ($(cat "$STATE/last-good/about" 2>/dev/null || echo '?')); fix this one and run apply.sh"
		drop inflight || true
		exit 1
	fi
	if [ -d "$STATE/last-good" ]; then say "the last policy that ran here could not be loaded either (the step above)"; fi
	say "loading the fallback: every connection in and every forwarded one is refused, except loopback, replies and this policy's own SSH access (its inbound allows of tcp port 22); fix the policy and run apply.sh"
	status=1
	for fam in 4 6; do load_fallback "$fam" || status=3; done
	if [ -n "$state_ok" ]; then drop inflight || true; fi
	exit "$status"
}

# FAMILY: the fallback ruleset; if the kernel refuses it, a closed one; if that fails too, the
# built-in chains' policies set to DROP.
load_fallback() {
	tool=$(ipt "$1")
	if [ "$1" = 4 ]; then data=$FALLBACK4; else data=$FALLBACK6; fi
	if [ -n "$data" ] && lines "$data" | "$tool-restore"; then return 0; fi
	say "IPv$1: the fallback was refused; loading a closed ruleset (loopback and replies only)"
	if closed_ruleset | "$tool-restore"; then return 0; fi
	say "IPv$1: $tool-restore failed; setting INPUT and FORWARD's policy to DROP"
	"$tool" -P INPUT DROP && "$tool" -P FORWARD DROP
}

closed_ruleset() {
	printf '%s\n' '*raw' ':PREROUTING ACCEPT [0:0]' ':OUTPUT ACCEPT [0:0]' COMMIT \
		'*mangle' ':PREROUTING ACCEPT [0:0]' ':INPUT ACCEPT [0:0]' ':FORWARD ACCEPT [0:0]' ':OUTPUT ACCEPT [0:0]' ':POSTROUTING ACCEPT [0:0]' COMMIT \
		'*nat' ':PREROUTING ACCEPT [0:0]' ':INPUT ACCEPT [0:0]' ':OUTPUT ACCEPT [0:0]' ':POSTROUTING ACCEPT [0:0]' COMMIT \
		'*filter' ':INPUT DROP [0:0]' ':FORWARD DROP [0:0]' ':OUTPUT ACCEPT [0:0]' \
		'-A INPUT -i lo -j ACCEPT' '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT' COMMIT
}

# After another tool (Docker, fail2ban) restarted and moved rules: every jump into ipfence's
# chains back in its place, from what is live (nothing else changes).
rehook() {
	lock
	make_work
	for fam in 4 6; do
		tool=$(ipt "$fam")
		"$tool-save" >"$work/now.v$fam" || fail "IPv$fam: $tool-save failed"
		snapshot_coexist "$work/hooks.v$fam" <"$work/now.v$fam" >/dev/null
		place_hooks "$tool" "$work/hooks.v$fam"
	done
	echo "ipfence apply: every jump into ipfence's chains is in its place"
}

# ---- Drift -----------------------------------------------------------------------------------

# What ipfence owns in a saved ruleset, one line each, in an order that does not depend on how the
# chains came to be: TABLE<TAB>CHAIN<TAB>NUMBER<TAB>LINE, sorted, printed as "TABLE: LINE". Full
# mode owns its four tables; coexist mode only its chains, its jumps and the policies it sets.
view_rules() {
	awk -v mode="$OWNERSHIP" -v explicit="$EXPLICIT" '
		BEGIN { n = split(explicit, e, " "); for (i = 1; i <= n; i++) set[e[i]] = 1 }
		function ours(c) { return c ~ /^(IPFENCE-|ipf-)/ }
		function owned(t) { return t == "filter" || t == "nat" || t == "mangle" || t == "raw" }
		function out(c, k, line) { printf "%s\t%s\t%08d\t%s\n", table, c, k, line }
		/^#/ { next }
		/^\*/ { table = substr($0, 2); next }
		/^:/ {
			c = substr($1, 2); sub(/ \[[0-9]+:[0-9]+\]$/, "")
			if (mode == "full" ? owned(table) : (ours(c) || (table "/" c) in set)) out(c, 0, $0)
			next
		}
		/^-A / {
			if (mode == "full" ? owned(table) : (ours($2) || (NF == 4 && $3 == "-j" && ours($4)))) out($2, ++k[table "/" $2], $0)
		}' | sort | awk -F '\t' '{ print $1 ": " $4 }'
}

# coexist: jumps into ipfence's chains that are not where apply.sh puts them.
misplaced_hooks() {
	IPFENCE_RUN_FIRST=$RUN_FIRST awk "$RUN_FIRST_AWK"'
		function ours(c) { return c ~ /^(IPFENCE-|ipf-)/ }
		/^\*/ { table = substr($0, 2); next }
		/^-A / {
			k = table " " $2; n[k]++; last[k] = $0
			if (NF == 4 && $3 == "-j" && ours($4) && !ours($2)) {
				if ($4 ~ /-DEFAULT$/) endhook[k] = $4
				else if (!(k in start)) start[k] = n[k]
				next
			}
			for (i = 3; i < NF; i++) if (($i == "-j" || $i == "-g" || $i == "--match-set") && first($(i + 1)) && k in start) print table ": the " ($i == "--match-set" ? "rule matching set " : "jump to ") $(i + 1) " in " $2 " comes after ipfence'"'"'s (bans must run first)"
		}
		END { for (k in endhook) if (last[k] != "-A " substr(k, index(k, " ") + 1) " -j " endhook[k]) print substr(k, 1, index(k, " ") - 1) ": the jump to " endhook[k] " is not the last rule of " substr(k, index(k, " ") + 1) }'
}

# The members of ipfence's sets, sorted (a set's hash size and seed are not its content).
view_sets() {
	awk '$1 == "create" && $2 ~ /^ipf-/ { print $1, $2, $3, $4, $5 } $1 == "add" && $2 ~ /^ipf-/ { print }' | sort
}

# Loads the state into a throwaway namespace, where the kernel writes it in its canonical form,
# and compares that with the live host. Exits 0 (same) or 10 (drift); anything else is "unknown".
drift_report() {
	have ip || fail "--check needs ip (apt-get install iproute2)"
	have diff || fail "--check needs diff (apt-get install diffutils)"
	ip netns exec "$netns" env IPFENCE_STATE_DIR="$work/ns" IPFENCE_IPTABLES="$IPT4" IPFENCE_IP6TABLES="$IPT6" sh "$self" --load-into "$work/next" >"$work/ns.log" 2>&1 || {
		cat "$work/ns.log" >&2
		fail "these files do not load in a throwaway namespace"
	}
	differs=
	: >"$work/report"
	for fam in 4 6; do
		tool=$(ipt "$fam")
		ip netns exec "$netns" "$tool-save" >"$work/loaded.save.v$fam" || fail "IPv$fam: $tool-save failed in the throwaway namespace"
		"$tool-save" >"$work/live.save.v$fam" || fail "IPv$fam: $tool-save failed"
		view_rules <"$work/loaded.save.v$fam" >"$work/loaded.v$fam"
		view_rules <"$work/live.save.v$fam" >"$work/live.v$fam"
		if ! cmp -s "$work/loaded.v$fam" "$work/live.v$fam"; then
			differs="$differs, IPv$fam rules"
			(cd "$work" && diff -u "loaded.v$fam" "live.v$fam") >>"$work/report" || true
		fi
		if [ "$OWNERSHIP" = coexist ]; then
			misplaced_hooks <"$work/live.save.v$fam" >"$work/misplaced.v$fam"
			if [ -s "$work/misplaced.v$fam" ]; then
				differs="$differs, IPv$fam jumps"
				sed "s/^/IPv$fam misplaced: /" "$work/misplaced.v$fam" >>"$work/report"
			fi
		fi
	done
	if have ipset; then
		ip netns exec "$netns" ipset save >"$work/loaded.save.sets" || fail "ipset save failed in the throwaway namespace"
		ipset save >"$work/live.save.sets" || fail "ipset save failed"
		view_sets <"$work/loaded.save.sets" >"$work/loaded.sets"
		view_sets <"$work/live.save.sets" >"$work/live.sets"
		if ! cmp -s "$work/loaded.sets" "$work/live.sets"; then
			differs="$differs, address sets"
			(cd "$work" && diff -u loaded.sets live.sets) >>"$work/report" || true
		fi
	fi
	routing_now >"$work/routing.live" || fail "cannot read the live policy routing (ip rule, ip route)"
	routing_diff missing "$work/next/routing" "$work/routing.live" | sed 's/^/routing missing: /' >"$work/routing.report"
	routing_diff extra "$work/next/routing" "$work/routing.live" | sed 's/^/routing not wanted: /' >>"$work/routing.report"
	if [ -s "$work/routing.report" ]; then
		differs="$differs, routing"
		cat "$work/routing.report" >>"$work/report"
	fi
	pending=
	if [ -d "$STATE/pending" ]; then pending=" (an apply is waiting for confirmation)"; fi
	# A run killed half way through a change: whatever the host holds now, the next apply first
	# puts back the state that was live before it, so the host is not settled (drift, exit 1).
	if [ -d "$STATE/inflight" ]; then
		about=$(head -n 1 "$STATE/inflight/about" 2>/dev/null | tr -d '\000-\037\177' || true)
		pending="$pending; and an apply was stopped half way through its change (${about:-?}; $STATE/inflight is its record): run apply.sh again, which first restores the state that was live before it"
		if [ -z "$differs" ]; then
			echo "ipfence check: DRIFT: the host holds what these files load ($SOURCE, sha256 $POLICY_SHA256)$pending"
			exit 10
		fi
	fi
	if [ -z "$differs" ]; then
		echo "ipfence check: OK: the host holds what these files load ($SOURCE, sha256 $POLICY_SHA256)$pending"
		exit 0
	fi
	echo "ipfence check: DRIFT: ${differs#, } differ from what these files load ($SOURCE, sha256 $POLICY_SHA256)$pending"
	echo "In the diffs, - is what the files load and + what the host has."
	cat "$work/report"
	exit 10
}

check_drift() {
	fail_status=2
	checking=1
	lock
	make_work
	preflight
	stage "$work/next"
	netns=ipfence-check-$$
	ip netns add "$netns" 2>"$work/netns.err" || {
		netns=
		fail "cannot create a throwaway network namespace: $(cat "$work/netns.err")"
	}
	set +e
	(
		set -e
		drift_report
	)
	rc=$?
	set -e
	case "$rc" in
	0) exit 0 ;;
	10) exit 1 ;;
	2) exit 2 ;;
	esac
	echo "ipfence check: UNKNOWN: the comparison stopped at a failed step (see standard error)"
	exit 2
}

# Inside --check's throwaway namespace: the state's rules and sets, nothing else.
load_into() {
	# Run by --check, which holds the host's lock; the state folder is inside its own.
	secure_state
	make_work
	converge "$1" rules-only
}

usage() {
	cat <<'EOF'
  apply.sh                  apply
  apply.sh --confirm SECS   apply; roll back by itself after SECS seconds unless confirmed
  apply.sh --confirmed      keep what --confirm applied (run it over a new connection)
  apply.sh --check          compare the live host with what these files load; change nothing
  apply.sh --boot           what ipfence.service runs at boot
  apply.sh --rehook         put ipfence's jumps back in place after another tool moved them

Exit status: 0 done (--check: no drift); 1 not applied, because it was refused before any
change or failed and was rolled back (--check: drift, or an apply stopped half way; --confirmed: nothing to confirm);
2 usage (--check: could not tell); 3 failed, and so did the rollback: the state is unknown.
IPFENCE_IPTABLES / IPFENCE_IP6TABLES choose the tools (default iptables / ip6tables);
IPFENCE_STATE_DIR is where a pending confirmation and the log are kept (/var/lib/ipfence).
EOF
}

case "${1-}" in
'') apply_now "" ;;
--confirm)
	case "${2-}" in
	'' | *[!0-9]* | 0) usage >&2; exit 2 ;;
	esac
	apply_now "$2"
	;;
--confirmed) confirm ;;
--check) check_drift ;;
--boot) boot ;;
--rehook) rehook ;;
--rollback-after) rollback_after "$2" "$3" ;;
--converge)
	make_work
	converge "$2" "${3-}"
	;;
--load-into) load_into "$2" ;;
-h | --help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac
