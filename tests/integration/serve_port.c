/* serve_port.c: port publication and the wait for a stop signal, shared by
 * the loopback stand-in servers of the test suites (serve_port.h). */
#include "serve_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int itest_publish_port(struct MHD_Daemon *d, const char *port_file, const char *who, unsigned *port)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_in b;
    socklen_t bl = sizeof(b);
    if (!info || getsockname(info->listen_fd, (struct sockaddr *)&b, &bl) != 0) {
        fprintf(stderr, "%s: no bound port\n", who);
        return 1;
    }
    struct sigaction act = {.sa_handler = on_signal};
    sigemptyset(&act.sa_mask);
    sigaction(SIGINT, &act, NULL);
    sigaction(SIGTERM, &act, NULL);
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", port_file) >= (int)sizeof(tmp)) {
        fprintf(stderr, "%s: port file name too long\n", who);
        return 1;
    }
    FILE *f = fopen(tmp, "w");
    bool ok = f && fprintf(f, "%u\n", (unsigned)ntohs(b.sin_port)) >= 0;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok || rename(tmp, port_file) != 0) {
        fprintf(stderr, "%s: cannot write %s\n", who, port_file);
        return 1;
    }
    if (port)
        *port = ntohs(b.sin_port);
    return 0;
}

void itest_wait_for_signal(void)
{
    while (!stop) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 50000000L};
        nanosleep(&ts, NULL);
    }
}
