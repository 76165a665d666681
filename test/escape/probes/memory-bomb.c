/* Memory bomb: allocates and touches 1 MiB after another until the kernel stops it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  for (long mib = 1;; mib++) {
    char *p = malloc(1 << 20);
    if (p == NULL) { printf("malloc failed at %ld MiB\n", mib); return 4; }
    memset(p, 0xa5, 1 << 20);
    if (mib % 16 == 0) printf("%ld MiB\n", mib);
  }
}
