#!/bin/bash
# Every BPF program of piiwatch's object passes this kernel's verifier,
# and every 32-bit program is taken by the table the daemon routes it
# into, the programs the daemon leaves out on this machine included: on a
# kernel without the 32-bit entry (as this build machine's) no other test
# loads the 32-bit dispatchers or the programs they tail-call.  The LSM
# program is left to the daemon's own trial (docs/kernel-probes.md, "Hook
# modes"), and so are, where tracepoint programs cannot call the kfunc
# bpf_task_from_vpid, the programs that call it, and, as the daemon does,
# those whose hook the kernel lacks.  The overlay branch is verified
# whether overlayfs's BTF is at hand or not.  Nothing stays loaded.
. "$(dirname "$0")/../lib.sh"
pw_setup

BEFORE=$(pw_bpf_prog_ids)
out=$("$PW_BUILD/tests/pw-load-all" 2>"$PW_TMP/err")
rc=$?
check_eq "the kernel takes every program, and every 32-bit one into its table" \
	"$rc $(cat "$PW_TMP/err")" "0 "
# The object's programs are its global functions.
all=$(bpftool btf dump file "$PW_BUILD/piiwatch.bpf.o" | grep -c "^\[[0-9]*\] FUNC '.*linkage=global")
vpid=$(bpftool btf dump file "$PW_BUILD/piiwatch.bpf.o" |
	grep -c "^\[[0-9]*\] FUNC '\(handle_exit_vm_readv\|handle_exit_vm_writev\|handle_exit_ptrace\|compat_memory_exit\)'")
check_eq "the four programs that call bpf_task_from_vpid are in the object" "$vpid" 4
loaded=$(echo "$out" | awk '{ print $2 }')
absent=$(echo "$out" | awk '{ print $4 }')
vpid_loaded=$(echo "$out" | awk '{ print $6 }')
# Where the kernel has the kfunc, the trial must take it: a refused
# program is then a regression, not a kernel's blind spot.
if pw_vpid_expected; then
	check_eq "the programs that call bpf_task_from_vpid loaded (Linux 6.13+, kfunc in BTF)" \
		"$vpid_loaded" yes
fi
if [ "$vpid_loaded" = yes ]; then
	check_eq "all $all programs but the LSM one and the $absent absent hooks were loaded" \
		"$loaded" $((all - 1 - absent))
else
	check_eq "all programs but the LSM one, the four whose kfunc cannot be called, the $absent absent" \
		"$loaded" $((all - 1 - vpid - absent))
fi
routed=$(echo "$out" | awk '{ print $8 }')
check "the 32-bit calls' programs were routed ($routed routes)" test "${routed:-0}" -gt 100
# Only what is loaded now and was not before counts: another test's
# programs may be freed meanwhile.
check_eq "nothing is left loaded" \
	"$(pw_wait_gone "$(comm -13 <(echo "$BEFORE") <(pw_bpf_prog_ids))" pw_bpf_prog_ids)" ""
done_testing
