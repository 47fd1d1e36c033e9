/*
 * pw-evade32 FILE: a 32-bit program, without libc, for tests/integration/
 * evasion.sh.  It opens FILE close-on-exec, reads it whole, and then
 * execs itself (/proc/self/exe) with no argument, which exits 0 at once:
 * the 32-bit calls of a real 32-bit process, and a 32-bit exec from one.
 * Exits 1 on any error.
 */
	.globl _start
	.text
_start:
	movl (%esp), %eax		/* argc */
	cmpl $2, %eax
	jl exit_ok
	movl 8(%esp), %ebx		/* open(argv[1], O_RDONLY | O_CLOEXEC) */
	movl $0x80000, %ecx
	xorl %edx, %edx
	movl $5, %eax
	int $0x80
	testl %eax, %eax
	js exit_fail
	movl %eax, %esi
read_more:
	movl $3, %eax			/* read(fd, buf, 65536) */
	movl %esi, %ebx
	movl $buf, %ecx
	movl $65536, %edx
	int $0x80
	testl %eax, %eax
	js exit_fail
	jnz read_more
	movl $11, %eax			/* execve("/proc/self/exe", { self, NULL }, NULL) */
	movl $self, %ebx
	movl $argv, %ecx
	xorl %edx, %edx
	int $0x80
exit_fail:
	movl $1, %ebx
	movl $1, %eax
	int $0x80
exit_ok:
	xorl %ebx, %ebx
	movl $1, %eax
	int $0x80

	.data
self:
	.asciz "/proc/self/exe"
	.balign 4
argv:
	.long self, 0

	.bss
	.lcomm buf, 65536
