/* Busy loop for N wall-clock seconds (default 2) in T threads, then print the CPU time the process got. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double seconds = 2;
static void *burn(void *arg) {
  (void)arg;
  double end = now(CLOCK_MONOTONIC) + seconds;
  volatile unsigned long x = 0;
  while (now(CLOCK_MONOTONIC) < end) x++;
  return NULL;
}
int main(int argc, char **argv) {
  if (argc > 1) seconds = atof(argv[1]);
  int threads = argc > 2 ? atoi(argv[2]) : 1;
  double wall0 = now(CLOCK_MONOTONIC);
  pthread_t t[16];
  for (int i = 0; i < threads && i < 16; i++) pthread_create(&t[i], NULL, burn, NULL);
  for (int i = 0; i < threads && i < 16; i++) pthread_join(t[i], NULL);
  printf("wall_ms=%.0f cpu_ms=%.0f\n", (now(CLOCK_MONOTONIC) - wall0) * 1000, now(CLOCK_PROCESS_CPUTIME_ID) * 1000);
  return 0;
}
