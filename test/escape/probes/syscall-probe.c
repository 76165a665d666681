/* Privilege probe: attempts each dangerous system call with arguments that would be
 * harmless (invalid or read-only) even if the call were allowed, and prints one line per
 * call: "<name> ok" or "<name> errno=NAME". "fork" is a positive control. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static void report(const char *name, long r) {
  if (r < 0) printf("%s errno=%s\n", name, strerrorname_np(errno));
  else printf("%s ok\n", name);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t child = fork();
  if (child == 0) _exit(0);
  if (child > 0) waitpid(child, NULL, 0);
  report("fork", child);

  report("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
  report("umount2", umount2("/tmp", MNT_DETACH));
  report("unshare_user", unshare(CLONE_NEWUSER));
  report("unshare_mount", unshare(CLONE_NEWNS));
  report("unshare_net", unshare(CLONE_NEWNET));
  long c = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
  if (c == 0) _exit(0);
  if (c > 0) waitpid((pid_t)c, NULL, 0);
  report("clone_newuser", c);
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.flags = CLONE_NEWUSER;
  ca.exit_signal = SIGCHLD;
  long c3 = syscall(SYS_clone3, &ca, sizeof ca);
  if (c3 == 0) _exit(0);
  if (c3 > 0) waitpid((pid_t)c3, NULL, 0);
  report("clone3", c3);
  int nsfd = open("/proc/self/ns/net", O_RDONLY);
  report("setns", syscall(SYS_setns, nsfd, 0));
  report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
  report("add_key", syscall(SYS_add_key, "user", "airlock-probe", "x", 1, -3));
  report("request_key", syscall(SYS_request_key, "user", "airlock-probe", NULL, 0));
  char attr[128];
  memset(attr, 0, sizeof attr);
  report("bpf", syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof attr));
  report("ptrace_traceme", ptrace(PTRACE_TRACEME, 0, NULL, NULL));
  report("ptrace_attach", ptrace(PTRACE_ATTACH, getppid(), NULL, NULL));
  char buf[8];
  struct iovec local = {.iov_base = buf, .iov_len = sizeof buf};
  struct iovec remote = {.iov_base = (void *)0x10000, .iov_len = sizeof buf};
  report("process_vm_readv", syscall(SYS_process_vm_readv, getppid(), &local, 1, &remote, 1, 0));
  report("process_vm_writev", syscall(SYS_process_vm_writev, getppid(), &local, 1, &remote, 1, 0));
  report("perf_event_open", syscall(SYS_perf_event_open, attr, 0, -1, -1, 0));
  report("userfaultfd", syscall(SYS_userfaultfd, 0));
  report("io_uring_setup", syscall(SYS_io_uring_setup, 1, attr));
  report("personality_addr_no_randomize", personality(ADDR_NO_RANDOMIZE));
  report("chroot", chroot("/tmp"));
  report("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp"));
  report("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, attr, O_RDONLY));
  int mount_id;
  report("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", attr, &mount_id, 0));
  report("init_module", syscall(SYS_init_module, NULL, 0, ""));
  report("finit_module", syscall(SYS_finit_module, -1, "", 0));
  report("delete_module", syscall(SYS_delete_module, "airlock_probe_none", O_NONBLOCK));
  report("kexec_load", syscall(SYS_kexec_load, 0, 1000000, NULL, 0));
  report("reboot", syscall(SYS_reboot, 0, 0, 0, NULL)); /* bad magic: EINVAL if it were allowed */
  report("swapon", syscall(SYS_swapon, "/nonexistent-airlock-probe", 0));
  report("acct", syscall(SYS_acct, "/nonexistent-airlock-probe"));
  struct timeval bad = {.tv_sec = 0, .tv_usec = 2000000}; /* invalid: EINVAL if it were allowed */
  report("settimeofday", syscall(SYS_settimeofday, &bad, NULL));
  struct timespec badts = {.tv_sec = 0, .tv_nsec = 2000000000};
  report("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, &badts));
  char tx[256];
  memset(tx, 0, sizeof tx);
  report("adjtimex", syscall(SYS_adjtimex, tx)); /* modes 0: read-only */
  report("iopl", syscall(SYS_iopl, 0));
  report("ioperm", syscall(SYS_ioperm, 0x80, 1, 0));
  report("syslog", syscall(SYS_syslog, 10 /* SIZE_BUFFER: read-only */, NULL, 0));
  report("lookup_dcookie", syscall(SYS_lookup_dcookie, 0, NULL, 0));
  report("quotactl", syscall(SYS_quotactl, 0, NULL, 0, NULL));
  report("modify_ldt", syscall(SYS_modify_ldt, 0, attr, sizeof attr));
  report("socket_vsock", socket(AF_VSOCK, SOCK_STREAM, 0));
  report("socket_packet", socket(AF_PACKET, SOCK_RAW, 0));
  report("sethostname", sethostname("x", 1));
  return 0;
}
