/* Fork bomb: every process forks as fast as it can, forever. Prints how many children the
 * first process got before fork failed, and the errno, then keeps pressing until killed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The pids controller's own count and limit, as the container sees them (cgroup v1 or v2). */
static void print_cgroup(const char *name) {
  const char *paths[] = {"/sys/fs/cgroup/pids/", "/sys/fs/cgroup/"};
  for (int i = 0; i < 2; i++) {
    char path[128], value[64] = {0};
    snprintf(path, sizeof path, "%s%s", paths[i], name);
    FILE *f = fopen(path, "r");
    if (f == NULL) continue;
    if (fgets(value, sizeof value, f) != NULL) printf("%s=%s", name, value);
    fclose(f);
    return;
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int children = 0;
  for (;;) {
    pid_t p = fork();
    if (p == 0) {
      for (;;) { if (fork() < 0) pause(); }
    }
    if (p < 0) {
      printf("fork failed after %d children errno=%s\n", children, strerrorname_np(errno));
      print_cgroup("pids.current");
      print_cgroup("pids.max");
      break;
    }
    children++;
  }
  for (;;) { if (fork() == 0) pause(); }
}
