#!/bin/bash
# Protected data handed on to a process that never opened a protected
# file: through a pipe (anonymous or named, one stage or several, read,
# spliced, taken or fed by vmsplice, copied into another by tee), or to
# a child forked after the read.  The process handed them
# is marked as having read protected data: its writes to other files are
# staging and, outside a login session, its connects are reported.  A
# pipeline that carries nothing protected marks nobody, and a reader
# that takes under 1 KiB out of one marked pipe is not marked.  A pipe's
# descriptor that another thread replaces while its reader waits in
# read(2) does not hide the read, except (a blind spot, shown) for a read
# that entered before any pipe was marked since the programs were loaded.
# Memory taken out of a marked process (process_vm_readv, ptrace,
# /proc/PID/mem) marks the taker; memory a marked process puts into
# another (process_vm_writev) marks the receiver.
. "$(dirname "$0")/../lib.sh"
pw_setup

D=$PW_TMP/data/customers
O=$PW_TMP/out
mkdir -p "$D" "$O" "$PW_TMP/other"
EVADE="$PW_BUILD/tests/pw-evade"
for t in gz tr fifo connect fork splice count hand swap ring ringw aio aiow \
	vm-read vm-read-thread vm-write vm-write-session ptrace-peek ptrace-attach ptrace-seize ptrace-early \
	ptrace-early-regs ptrace-poke proc-mem proc-mem-early proc-mem-write vm-read-int80 vm-write-int80 \
	ptrace-early-int80 ptrace-early-fpx-int80 vms vmsw tee utee vms32 mshot mshotf; do
	# Text, so that gzip writes fewer bytes than it reads.
	seq 1 $((4000 + ${#t} * 100)) | sed 's/$/,Yamada Taro,Tokyo/' >"$D/f_$t.csv"
done
seq 1 5000 >"$PW_TMP/other/plain.txt"
# Under one chunk of pw-evade's (4 KiB), over the 1 KiB that marks.
head -c 3000 "$D/f_swap.csv" >"$D/first_swap.csv"
mkfifo "$PW_TMP/other/fifo"

pw_write_policy "$PW_TMP/policy.conf" <<EOF
[dataset customers]
path = $D
EOF
# All of it outside a login session, where a connect is reported only for
# a process that has read protected data itself (in a session, the
# session's mark covers every process of it).
nosession() {
	if [ "$(cat /proc/self/sessionid)" = 4294967295 ]; then
		"$@"
	else
		sh -c 'echo 4294967295 >/proc/self/loginuid && exec "$@"' sh "$@"
	fi
}
check_eq "the test runs outside any login session" \
	"$(nosession cat /proc/self/sessionid)" 4294967295

# check_staged DESCRIPTION PATH SIZED COMM: the access to PATH is a
# staging one, of COMM, with as many bytes written as file SIZED has.
check_staged() {
	check_eq "$1" \
		"$(pw_sql "SELECT staging, bytes_written, comm FROM accesses WHERE path = '$2'")" \
		"1|$(stat -c %s "$3")|$4"
}
# closed PATH...: wait until the accesses to each PATH are closed.
closed() {
	local f
	for f in "$@"; do
		pw_wait_sql "SELECT count(*) > 0 AND count(*) = count(closed_ns) FROM accesses WHERE path = '$f'" 1 >/dev/null
	done
}

# Each of the first two runs on programs freshly loaded, before any pipe
# was marked: cat | gzip, whose reader (one thread) is looked at at the
# read's exit alone; then a reader thread waiting on a pipe whose
# descriptor is swapped for /dev/null, all the data in that one read.
check "piiwatchd starts" pw_start_daemon "$PW_TMP/policy.conf"
nosession sh -c "cat '$D/f_gz.csv' | gzip -c >'$O/gz.gz'"
closed "$O/gz.gz"
pw_stop_daemon TERM
check "piiwatchd starts again, its programs loaded afresh" pw_start_daemon "$PW_TMP/policy.conf"
nosession "$EVADE" pipe-handoff-swap "$D/first_swap.csv" "$O/first_swap.out" >/dev/null

nosession sh -c "cat '$D/f_tr.csv' | tr a-z A-Z | gzip -c >'$O/tr.gz'"
nosession sh -c "cat '$D/f_fifo.csv' >'$PW_TMP/other/fifo' & gzip -c <'$PW_TMP/other/fifo' >'$O/fifo.gz'; wait"
# The read end opened afresh by its name (/dev/stdin), then a connect
# (refused: nothing listens there).
nosession sh -c "cat '$D/f_connect.csv' | '$EVADE' connect /dev/stdin 40971" >/dev/null
nosession sh -c "cat '$D/f_splice.csv' | '$EVADE' splice-out /dev/stdin '$O/splice.out'" >/dev/null
# (Its output into a file: read through a pipe, it would mark this shell.)
nosession "$EVADE" fork-stage "$D/f_fork.csv" "$O/fork.out" >"$PW_TMP/child"
child=$(cat "$PW_TMP/child")
# One child reading from a pipe in a thread while its parent writes, and
# the same with the pipe's descriptor swapped for /dev/null meanwhile.
nosession "$EVADE" pipe-handoff "$D/f_hand.csv" "$O/hand.out" >/dev/null
nosession "$EVADE" pipe-handoff-swap "$D/f_swap.csv" "$O/swap.out" >/dev/null
# Through io_uring: a pipe read by its READ requests, and one written by
# its WRITE requests.
nosession sh -c "cat '$D/f_ring.csv' | '$EVADE' uring-pipe-stage /dev/stdin '$O/ring.out'" >/dev/null
nosession sh -c "'$EVADE' uring-cat '$D/f_ringw.csv' 2>/dev/null | gzip -c >'$O/ringw.gz'"
# Through Linux AIO, the same two.
nosession sh -c "cat '$D/f_aio.csv' | '$EVADE' aio-pipe-stage /dev/stdin '$O/aio.out'" >/dev/null
nosession sh -c "'$EVADE' aio-cat '$D/f_aiow.csv' 2>/dev/null | gzip -c >'$O/aiow.gz'"
# Another process's memory: a copy taken out of a marked process by one
# forked before its read (process_vm_readv by its pid or a thread's id;
# ptrace attached after the read, with peeks or none, or attached before
# it; /proc/PPID/mem opened after the read, or, a blind spot, before it),
# or put into such a one by the marked process (process_vm_writev,
# PTRACE_POKEDATA, /proc/CHILD/mem; into a process of a login session of
# its own, whose other process then connects).
MEMORY="vm-read vm-read-thread vm-write ptrace-peek ptrace-attach ptrace-seize ptrace-early ptrace-early-regs
	ptrace-poke"
# The same calls made 32-bit (int $0x80), where the kernel has that entry.
INT80=yes
"$EVADE" int80 /etc/hostname >/dev/null 2>&1 || INT80=no
[ $INT80 = yes ] && MEMORY="$MEMORY vm-read-int80 vm-write-int80 ptrace-early-int80 ptrace-early-fpx-int80"
for m in $MEMORY proc-mem proc-mem-early proc-mem-write; do
	nosession "$EVADE" $m "$D/f_$m.csv" "$O/$m.out" >/dev/null
done
nosession "$EVADE" vm-write-session "$D/f_vm-write-session.csv" 40973 >/dev/null
# Neither read(2) nor write(2): a marked pipe's data taken into memory by
# vmsplice(2) (and by a 32-bit one), a marked process's copy moved into a
# pipe by it, and a marked pipe's data copied into another pipe by tee(2)
# and by io_uring TEE.
nosession sh -c "cat '$D/f_vms.csv' | '$EVADE' vmsplice-stage /dev/stdin '$O/vms.out'" >/dev/null
nosession sh -c "'$EVADE' vmsplice-cat '$D/f_vmsw.csv' 2>/dev/null | gzip -c >'$O/vmsw.gz'"
nosession sh -c "cat '$D/f_tee.csv' | '$EVADE' tee-cat /dev/stdin 2>/dev/null | gzip -c >'$O/tee.gz'"
nosession sh -c "cat '$D/f_utee.csv' | '$EVADE' uring-tee /dev/stdin '$O/utee.out'" >/dev/null
[ $INT80 = no ] ||
	nosession sh -c "cat '$D/f_vms32.csv' | '$EVADE' int80-vmsplice /dev/stdin '$O/vms32.out'" >/dev/null
# A marked pipe read by one io_uring READ_MULTISHOT request (6.7 on),
# whose completions but the last the kernel traces without the request,
# by its descriptor and by a registered file's slot.
MSHOT=no
if [ "$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')" -ge 6007 ]; then
	MSHOT=yes
	nosession sh -c "cat '$D/f_mshot.csv' | '$EVADE' uring-read-mshot /dev/stdin '$O/mshot.out'" >/dev/null
	nosession sh -c "cat '$D/f_mshotf.csv' | '$EVADE' uring-read-mshot-fixed /dev/stdin '$O/mshotf.out'" >/dev/null
fi
# The memory of a process that read nothing protected marks nobody.
nosession "$EVADE" vm-read "$PW_TMP/other/plain.txt" "$O/plain-vm.out" >/dev/null
# A shell that takes a count (under 1 KiB) from a marked process is not
# marked: its own writes are not staging.
nosession sh -c "n=\$(cat '$D/f_count.csv' | wc -l); echo \$n >'$O/count.txt'"
# Nothing protected in the pipe: gzip is not marked.
nosession sh -c "cat '$PW_TMP/other/plain.txt' | gzip -c >'$O/plain.gz'"
nosession sh -c "cat '$PW_TMP/other/plain.txt' | '$EVADE' connect /dev/stdin 40972" >/dev/null

closed "$O/fork.out" "$O/hand.out" "$O/swap.out" "$O/ring.out" "$O/ringw.gz" "$O/aio.out" "$O/aiow.gz" \
	"$O/vms.out" "$O/vmsw.gz" "$O/tee.gz" "$O/utee.out" \
	"$O/proc-mem.out" "$O/proc-mem-write.out"
# Where tracepoint programs cannot call bpf_task_from_vpid (before Linux
# 6.13), the daemon says so and the system calls are a blind spot.
VPID=yes
grep -q "cannot call kfunc bpf_task_from_vpid" "$PW_TMP/daemon.err" && VPID=no
# Where the kernel has it, a refusal is a regression, not that blind spot.
if pw_vpid_expected; then
	check_eq "the daemon follows another process's memory (Linux 6.13+, kfunc in BTF)" $VPID yes
fi
# check_memory DESCRIPTION TECHNIQUE: TECHNIQUE's copy is a staging file
# of pw-evade, every byte counted (or, without the kfunc, no access).
check_memory() {
	if [ $VPID = yes ]; then
		closed "$O/$2.out"
		check_staged "$1" "$O/$2.out" "$D/f_$2.csv" pw-evade
	else
		check_eq "blind spot on this kernel (no bpf_task_from_vpid), so not: $1" \
			"$(pw_sql "SELECT count(*) FROM accesses WHERE path = '$O/$2.out'")" 0
	fi
}
check_staged "cat data | gzip > out: out is a staging file of gzip, every byte counted" \
	"$O/gz.gz" "$O/gz.gz" gzip
check_staged "cat data | tr | gzip > out: marked through two pipes" \
	"$O/tr.gz" "$O/tr.gz" gzip
check_staged "cat data > fifo; gzip < fifo > out: through a named pipe" \
	"$O/fifo.gz" "$O/fifo.gz" gzip
check_staged "cat data | splice(2) into out: out is a staging file, every byte counted" \
	"$O/splice.out" "$D/f_splice.csv" pw-evade
check_eq "the connect of a process reading protected data from a pipe is reported" \
	"$(pw_sql "SELECT count(*), max(comm), max(dest_ip) FROM events WHERE kind = 'connect' AND dest_port = 40971")" \
	"1|pw-evade|127.0.0.1"
check_eq "a child forked after a protected read: its write is staging, attributed to it" \
	"$(pw_sql "SELECT staging, bytes_written, pid FROM accesses WHERE path = '$O/fork.out'")" \
	"1|$(stat -c %s "$D/f_fork.csv")|$child"
check_eq "the protected reads themselves are recorded, by cat and by pw-evade" \
	"$(pw_sql "SELECT count(DISTINCT path) FROM accesses WHERE path LIKE '$D/%' AND bytes_read > 0")" \
	$(($([ $INT80 = yes ] && echo 36 || echo 31) + $([ $MSHOT = yes ] && echo 2 || echo 0)))
check_staged "a marked pipe read through io_uring: the reader's file is staging, every byte" \
	"$O/ring.out" "$D/f_ring.csv" pw-evade
check_staged "a pipe written through io_uring by a marked process: gzip's file is staging" \
	"$O/ringw.gz" "$O/ringw.gz" gzip
check_staged "a marked pipe read through Linux AIO: the reader's file is staging, every byte" \
	"$O/aio.out" "$D/f_aio.csv" pw-evade
check_staged "a pipe written through Linux AIO by a marked process: gzip's file is staging" \
	"$O/aiow.gz" "$O/aiow.gz" gzip
check_staged "a pipe read in a thread while its writer writes: the reader's file is staging" \
	"$O/hand.out" "$D/f_hand.csv" pw-evade
check_staged "the pipe's descriptor swapped while its reader waits: the reader's file is still staging" \
	"$O/swap.out" "$D/f_swap.csv" pw-evade
check_staged "a marked pipe taken into memory by vmsplice(2): the reader's file is staging, every byte" \
	"$O/vms.out" "$D/f_vms.csv" pw-evade
check_staged "a pipe fed by vmsplice(2) from a marked process: gzip's file is staging" \
	"$O/vmsw.gz" "$O/vmsw.gz" gzip
check_staged "a marked pipe copied into another by tee(2): gzip's file is staging" \
	"$O/tee.gz" "$O/tee.gz" gzip
check_staged "a marked pipe copied into another by io_uring TEE: its reader's file is staging, every byte" \
	"$O/utee.out" "$D/f_utee.csv" pw-evade
if [ $INT80 = yes ]; then
	closed "$O/vms32.out"
	check_staged "a marked pipe taken into memory by a 32-bit vmsplice: the same" \
		"$O/vms32.out" "$D/f_vms32.csv" pw-evade
fi
check_memory "process_vm_readv of a marked process: the reader's copy is a staging file" vm-read
check_memory "... naming one of its threads by its id: the same" vm-read-thread
check_memory "process_vm_writev by a marked process: the receiver's copy is a staging file" vm-write
check_memory "ptrace attached to a marked process and PEEKDATA: the tracer's copy is a staging file" ptrace-peek
check_memory "ptrace attached to a marked process, nothing peeked: the tracer's writes are staging" ptrace-attach
check_memory "... seized (PTRACE_SEIZE, PTRACE_INTERRUPT): the same" ptrace-seize
check_memory "ptrace attached before the tracee's read, PEEKDATA after it: the same" ptrace-early
check_memory "... its registers read after it (GETREGSET), nothing peeked: the tracer's writes are staging" \
	ptrace-early-regs
check_memory "PTRACE_POKEDATA by a marked process: the tracee's copy is a staging file" ptrace-poke
if [ $INT80 = yes ]; then
	check_memory "32-bit process_vm_readv of a marked process: the same" vm-read-int80
	check_memory "32-bit process_vm_writev by a marked process: the same" vm-write-int80
	check_memory "32-bit PTRACE_PEEKDATA of a marked process: the same" ptrace-early-int80
	check_memory "32-bit PTRACE_GETFPXREGS of a marked process, nothing peeked: the tracer's writes are staging" \
		ptrace-early-fpx-int80
else
	echo "# this kernel (or machine) has no 32-bit system call entry: the int80 memory checks left out"
fi
if [ $VPID = yes ]; then
	check_eq "process_vm_writev into a process of another login session marks that session: its connect is reported" \
		"$(pw_sql "SELECT count(*), max(comm) FROM events WHERE kind = 'connect' AND dest_port = 40973")" \
		"1|pw-evade"
fi
check_staged "/proc/PID/mem of a marked process opened and read: the reader's copy is a staging file" \
	"$O/proc-mem.out" "$D/f_proc-mem.csv" pw-evade
check_staged "/proc/CHILD/mem written by a marked process: the child's copy is a staging file" \
	"$O/proc-mem-write.out" "$D/f_proc-mem-write.csv" pw-evade
check_eq "... and the write into /proc/CHILD/mem is itself a staging access, every byte" \
	"$(pw_sql "SELECT count(*), sum(bytes_written), max(staging) FROM accesses WHERE path GLOB '/proc/[0-9]*/mem'")" \
	"1|$(stat -c %s "$D/f_proc-mem-write.csv")|1"
check_eq "blind spot: /proc/PID/mem opened before its process was marked, read after: the copy is no staging file" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path = '$O/proc-mem-early.out'")|$(cmp -s "$O/proc-mem-early.out" "$D/f_proc-mem-early.csv" && echo same)" \
	"0|same"
check_eq "blind spot: swapped so while no pipe was yet marked since the load, the reader is not marked" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path = '$O/first_swap.out'")|$(stat -c %s "$O/first_swap.out")" \
	"0|3000"
if [ $MSHOT = yes ]; then
	closed "$O/mshot.out"
	check_staged "a marked pipe read by io_uring READ_MULTISHOT: the reader's file is staging, every byte" \
		"$O/mshot.out" "$D/f_mshot.csv" pw-evade
	closed "$O/mshotf.out"
	check_staged "... named by a registered file's slot: the same" \
		"$O/mshotf.out" "$D/f_mshotf.csv" pw-evade
fi
check_eq "a pipe reopened through /proc/self/fd is no access of its own" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path NOT LIKE '$PW_TMP/%' AND path NOT GLOB '/proc/[0-9]*/mem'")" 0
sleep 1.5 # past a delta interval: what was to be sent has been
check_eq "a shell reading a count from a marked pipe (under 1 KiB) is not marked: its file is no staging" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path = '$O/count.txt'")|$(cat "$O/count.txt")" \
	"0|$(wc -l <"$D/f_count.csv")"
check_eq "a pipe with nothing protected in it marks nobody: no staging file" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path = '$O/plain.gz'")" 0
check_eq "... and no connect reported" \
	"$(pw_sql "SELECT count(*) FROM events WHERE kind = 'connect' AND dest_port = 40972")" 0
check_eq "process_vm_readv of a process that read nothing protected marks nobody" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path = '$O/plain-vm.out'")|$(cmp -s "$O/plain-vm.out" "$PW_TMP/other/plain.txt" && echo same)" \
	"0|same"

pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly" "$DAEMON_STATUS" 0
done_testing
