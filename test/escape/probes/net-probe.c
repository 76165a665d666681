/* Network escape probe: tries one connection and prints "ok" or "errno=NAME".
 * Usage: net-probe tcp4|udp4|tcp6|udp6 <addr> <port> | icmp-raw <addr> | icmp-dgram <addr> | listen4 <port> <seconds>
 * Exit 0 when the attempt reached its target (an escape), 3 when it failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *step) {
  printf("%s errno=%s\n", step, strerrorname_np(errno));
  return 3;
}

static int timeout_fail(const char *step) {
  printf("%s errno=TIMEOUT\n", step);
  return 3;
}

static int connect_with_timeout(int fd, struct sockaddr *sa, socklen_t len) {
  fcntl(fd, F_SETFL, O_NONBLOCK);
  if (connect(fd, sa, len) == 0) return 0;
  if (errno != EINPROGRESS) return -1;
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  int n = poll(&p, 1, 3000);
  if (n == 0) { errno = ETIMEDOUT; return -2; }
  int err = 0;
  socklen_t el = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err != 0) { errno = err; return -1; }
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 3) { fprintf(stderr, "usage: see source\n"); return 2; }
  const char *mode = argv[1];
  int v6 = strchr(mode, '6') != NULL;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  int port = argc > 3 ? atoi(argv[3]) : 0;
  if (strcmp(mode, "listen4") == 0) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return fail("socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2])), .sin_addr.s_addr = htonl(INADDR_ANY)};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) return fail("bind");
    if (listen(fd, 8) < 0) return fail("listen");
    printf("listening\n");
    int seconds = argc > 3 ? atoi(argv[3]) : 10;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, seconds * 1000) > 0) { printf("accepted a connection\n"); return 0; }
    printf("no connection\n");
    return 3;
  }
  if (v6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, argv[2], &a->sin6_addr) != 1) { fprintf(stderr, "bad address\n"); return 2; }
    len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, argv[2], &a->sin_addr) != 1) { fprintf(stderr, "bad address\n"); return 2; }
    len = sizeof *a;
  }
  if (strncmp(mode, "tcp", 3) == 0) {
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return fail("socket");
    int r = connect_with_timeout(fd, (struct sockaddr *)&ss, len);
    if (r == -2) return timeout_fail("connect");
    if (r < 0) return fail("connect");
    printf("connect ok\n");
    return 0;
  }
  if (strncmp(mode, "udp", 3) == 0) {
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return fail("socket");
    if (sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) < 0) return fail("sendto");
    printf("sendto ok\n");
    return 0;
  }
  if (strncmp(mode, "icmp", 4) == 0) {
    int raw = strcmp(mode, "icmp-raw") == 0;
    int fd = socket(AF_INET, raw ? SOCK_RAW : SOCK_DGRAM, IPPROTO_ICMP);
    if (fd < 0) return fail("socket");
    struct icmphdr h = {.type = ICMP_ECHO};
    if (sendto(fd, &h, sizeof h, 0, (struct sockaddr *)&ss, len) < 0) return fail("sendto");
    printf("sendto ok\n");
    return 0;
  }
  fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}
