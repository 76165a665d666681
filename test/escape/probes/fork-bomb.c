/* Fork bomb: every process forks as fast as it can, forever. Prints how many children the
 * first process got before fork failed, and the errno, then keeps pressing until killed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
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
      break;
    }
    children++;
  }
  for (;;) { if (fork() == 0) pause(); }
}
