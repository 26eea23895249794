"""Docker's default seccomp profile as data (the rules of moby's profiles/seccomp
default.json, Docker Engine 29): deny with EPERM what is not allowed; allow about 360
syscalls outright; a few only with safe arguments; and the dangerous rest only to a
process that holds the capability which would let it do the same harm anyway.
"""

from __future__ import annotations

from shocker.oci.seccomp import EPERM, SeccompArg, SeccompSyscall
from shocker.oci.seccomp_profile import Condition, Profile, ProfileRule, allow

# Allowed to every container, whatever its capabilities.
_ALLOWED = """
    _llseek _newselect accept accept4 access adjtimex alarm bind brk cachestat capget capset
    chdir chmod chown chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64
    clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range
    connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl
    epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve
    execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate
    fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64
    fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64
    fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64
    futex_wait futex_waitv futex_wake futimesat get_robust_list get_thread_area getcpu
    getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups
    getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom
    getresgid getresgid32 getresuid getresuid32 getrlimit getrusage getsid getsockname
    getsockopt gettid gettimeofday getuid getuid32 getxattr getxattrat inotify_add_watch
    inotify_init inotify_init1 inotify_rm_watch io_cancel io_destroy io_getevents
    io_pgetevents io_pgetevents_time64 io_setup io_submit ioctl ioprio_get ioprio_set ipc
    kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32
    lgetxattr link linkat listen listmount listxattr listxattrat llistxattr lremovexattr
    lseek lsetxattr lstat lstat64 madvise map_shadow_stack membarrier memfd_create
    memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2
    mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
    mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget msgrcv msgsnd
    msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat open openat
    openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect
    poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6
    pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv
    recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat
    rename renameat renameat2 restart_syscall riscv_hwprobe rmdir rseq rt_sigaction
    rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
    rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_get_priority_max sched_get_priority_min
    sched_getaffinity sched_getattr sched_getparam sched_getscheduler sched_rr_get_interval
    sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
    sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
    semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto set_robust_list
    set_thread_area set_tid_address setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
    setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid
    setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit setsid setsockopt setuid
    setuid32 setxattr setxattrat shmat shmctl shmdt shmget shutdown sigaltstack signalfd
    signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64
    statmount statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time
    timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
    timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
    timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat
    uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid
    write writev
"""

# Namespace flags of clone(2) (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET):
# without CAP_SYS_ADMIN, clone may make threads and processes but no namespaces.
_CLONE_NAMESPACES = 0x7E020000
_SYS_ADMIN = "CAP_SYS_ADMIN"


def _arg0(op: str, value: int, index: int = 0) -> SeccompArg:
    return SeccompArg(index, value, f"SCMP_CMP_{op}")


def _caps(*names: str) -> Condition:
    return Condition(caps=names)


def _arches(*names: str) -> Condition:
    return Condition(arches=names)


RULES: tuple[ProfileRule, ...] = (
    allow(_ALLOWED),
    allow("process_vm_readv process_vm_writev ptrace", includes=Condition(min_kernel=(4, 8))),
    # socket(2), but not AF_ALG (38) nor AF_VSOCK (40).
    allow("socket", _arg0("LT", 38)),
    allow("socket", _arg0("EQ", 39)),
    allow("socket", _arg0("GT", 40)),
    # personality(2): only PER_LINUX, UNAME26, PER_LINUX32 and their pair, and the query.
    *(allow("personality", _arg0("EQ", p)) for p in (0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)),
    allow("sync_file_range2 swapcontext", includes=_arches("ppc64le")),
    allow(
        "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
        includes=_arches("arm", "arm64"),
    ),
    allow("arch_prctl", includes=_arches("amd64", "x32")),
    allow("modify_ldt", includes=_arches("amd64", "x32", "x86")),
    allow(
        "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr",
        includes=_arches("s390", "s390x"),
    ),
    allow("riscv_flush_icache", includes=_arches("riscv64")),
    allow("open_by_handle_at", includes=_caps("CAP_DAC_READ_SEARCH")),
    allow(
        "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie"
        " lsm_get_self_attr lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount"
        " open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns"
        " syslog umount umount2 unshare",
        includes=_caps(_SYS_ADMIN),
    ),
    allow(
        "clone",
        SeccompArg(0, _CLONE_NAMESPACES, "SCMP_CMP_MASKED_EQ", 0),
        excludes=Condition(caps=(_SYS_ADMIN,), arches=("s390", "s390x")),
    ),
    # s390 passes clone's flags second.
    allow(
        "clone",
        SeccompArg(1, _CLONE_NAMESPACES, "SCMP_CMP_MASKED_EQ", 0),
        includes=_arches("s390", "s390x"),
        excludes=_caps(_SYS_ADMIN),
    ),
    # clone3's flags sit in a struct seccomp cannot read: ENOSYS makes libc fall back to clone.
    ProfileRule(SeccompSyscall(("clone3",), "SCMP_ACT_ERRNO", 38), excludes=_caps(_SYS_ADMIN)),
    allow("reboot", includes=_caps("CAP_SYS_BOOT")),
    allow("chroot", includes=_caps("CAP_SYS_CHROOT")),
    allow("delete_module init_module finit_module", includes=_caps("CAP_SYS_MODULE")),
    allow("acct", includes=_caps("CAP_SYS_PACCT")),
    allow(
        "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
        includes=_caps("CAP_SYS_PTRACE"),
    ),
    allow("iopl ioperm", includes=_caps("CAP_SYS_RAWIO")),
    allow("settimeofday stime clock_settime clock_settime64", includes=_caps("CAP_SYS_TIME")),
    allow("vhangup", includes=_caps("CAP_SYS_TTY_CONFIG")),
    allow(
        "get_mempolicy mbind set_mempolicy set_mempolicy_home_node", includes=_caps("CAP_SYS_NICE")
    ),
    allow("syslog", includes=_caps("CAP_SYSLOG")),
    allow("bpf", includes=_caps("CAP_BPF")),
    allow("perf_event_open", includes=_caps("CAP_PERFMON")),
)

DEFAULT_PROFILE = Profile(
    # EPERM, as Docker, not Podman's ENOSYS: a refused call reads as refused, and the one
    # call whose ENOSYS libc needs to fall back (clone3) gets it from its own rule above.
    default_action="SCMP_ACT_ERRNO",
    default_errno_ret=EPERM,
    arch_map=(
        ("SCMP_ARCH_X86_64", ("SCMP_ARCH_X86", "SCMP_ARCH_X32")),
        ("SCMP_ARCH_AARCH64", ("SCMP_ARCH_ARM",)),
        ("SCMP_ARCH_MIPS64", ("SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32")),
        ("SCMP_ARCH_S390X", ("SCMP_ARCH_S390",)),
        ("SCMP_ARCH_RISCV64", ()),
        ("SCMP_ARCH_LOONGARCH64", ()),
    ),
    rules=RULES,
)
