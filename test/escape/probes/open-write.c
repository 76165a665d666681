/* Opens each path for writing (without writing anything) and prints "<path> ok" or "<path> errno=NAME". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    int fd = open(argv[i], O_WRONLY);
    if (fd < 0) printf("%s errno=%s\n", argv[i], strerrorname_np(errno));
    else { printf("%s ok\n", argv[i]); close(fd); }
  }
  return 0;
}
