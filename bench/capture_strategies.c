/* Capture strategies for a fast child's stdout, side by side with `cat` (bench/capture_strategies.sh).
 *
 * Usage: capture_strategies MODE ROTATION DIR [SCHED]   (stdin: the pipe from the writer)
 *   MODE      rw      blocking 128 KiB read + write (what cat does)
 *             poll    non-blocking 128 KiB read + write, poll() only when the pipe is empty
 *                     (gwe's hot capture thread before the nap design)
 *             batch   as poll, but reads gather in a 1 MiB buffer that is written when full or
 *                     when the pipe is empty (fewer, larger writes into the page cache)
 *             big     as batch, but written only when the 1 MiB buffer is full or the pipe has
 *                     stayed empty for 2 ms: every write is 1 MiB while the stream is fast, so
 *                     the page cache takes it in large folios (cheaper to fill and to free)
 *             splice  non-blocking splice pipe -> file, poll() when empty (gwe's event-loop path)
 *             splice2 splice pipe -> private pipe (no copy), then private pipe -> file
 *             naprw   nap 300 us, then one read of all the pipe holds (up to 1 MiB) into a buffer;
 *                     write it up to the last 128 KiB boundary of the file, keep the rest
 *             nap     gwe's hot capture thread: nap 300 us, then one splice of all the pipe
 *                     holds into a private pipe (page moves); splice from there to the file up
 *                     to the last 128 KiB boundary (large folios), keep the rest
 *             napdK   nap 300 us, then splice what the pipe holds straight to the file in pieces
 *                     of K KiB (default 128): no private pipe, so the pages go back to the
 *                     writer's pipe (its page cache of one or two), but its lock is held per piece
 *   ROTATION  none | inline (at 50 MB: unlink .2, .1 -> .2, log -> .1, new log)
 *             | thread (the unlink on a short-lived thread, as gwe does) | keep (rotate, never unlink)
 *   SCHED     normal (default) | idle (SCHED_IDLE: a CPU running only this counts as idle when
 *             the writer's processes wake up) | niceN (nice value N)
 * The pipe is grown to 1 MiB, as gwe grows a hot stream's pipe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAXBYTES (50LL * 1000 * 1000)
static char buf[128 * 1024];
static char big[1 << 20];

static void *unlinker(void *p) { unlink((char *)p); free(p); return NULL; }

static int rotate(const char *dir, const char *how, int fd) {
    char log[4096], b1[4096], b2[4096], doomed[4096];
    static int seq;
    snprintf(log, sizeof log, "%s/out.log", dir);
    snprintf(b1, sizeof b1, "%s/out.log.1", dir);
    snprintf(b2, sizeof b2, "%s/out.log.2", dir);
    close(fd);
    if (!strcmp(how, "inline")) {
        unlink(b2);
    } else {
        snprintf(doomed, sizeof doomed, "%s/out.log.2.discarded-%d", dir, seq++);
        if (rename(b2, doomed) == 0 && !strcmp(how, "thread")) {
            pthread_t t;
            if (pthread_create(&t, NULL, unlinker, strdup(doomed)) == 0) pthread_detach(t);
        }
    }
    rename(b1, b2);
    rename(log, b1);
    return open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
}

static int napping;
static void wait_readable(void) {
    if (napping) {
        struct timespec ts = {0, 300 * 1000};
        nanosleep(&ts, NULL);
        return;
    }
    struct pollfd p = {0, POLLIN, 0};
    poll(&p, 1, 20);
}

#define ALIGN (128 * 1024)
#define STAGE (1 << 20)

/* `m` bytes went into `fd` at *fpos: rotate when that reached MAXBYTES; returns the fd to go on with. */
static int advance(int fd, long long *fpos, ssize_t m, int rotating, const char *dir, const char *how) {
    *fpos += m;
    if (rotating && *fpos >= MAXBYTES) {
        fd = rotate(dir, how, fd);
        fcntl(fd, F_SETFL, 0);   /* splice refuses O_APPEND files */
        *fpos = 0;
    }
    return fd;
}

/* naprw and nap: gather after a nap, write up to the last ALIGN boundary of the file. */
static int nap_loop(int splicing, const char *dir, const char *how) {
    int rotating = strcmp(how, "none") != 0;
    char log[4096];
    snprintf(log, sizeof log, "%s/out.log", dir);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int stage[2] = {-1, -1};
    if (splicing) {
        if (pipe(stage)) { perror("pipe"); return 1; }
        fcntl(stage[0], F_SETPIPE_SZ, STAGE);
    }
    napping = 1;
    long long held = 0, fpos = 0;
    for (;;) {
        ssize_t n = splicing
            ? splice(0, NULL, stage[1], NULL, STAGE - held, SPLICE_F_NONBLOCK | SPLICE_F_MOVE)
            : read(0, big + held, STAGE - held);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) { perror("gather"); return 1; }
        int eof = n == 0, full = n > 0 && n == STAGE - held;
        if (n > 0) held += n;
        for (;;) {
            long long w = held;
            if (!eof) {
                long long tail = (fpos + held) % ALIGN;
                w = tail < held ? held - tail : 0;
            }
            if (rotating && w > MAXBYTES - fpos) w = MAXBYTES - fpos;   /* stop at the rotation point */
            if (w <= 0) break;
            ssize_t m = splicing ? splice(stage[0], NULL, fd, NULL, w, SPLICE_F_MOVE)
                                 : write(fd, big, w);
            if (m <= 0) { perror("write"); return 1; }
            if (!splicing) memmove(big, big + m, held - m);
            held -= m;
            fd = advance(fd, &fpos, m, rotating, dir, how);
        }
        if (eof) return 0;
        if (!full) wait_readable();
    }
}

/* napdK: nap, then splice what the pipe holds straight to the file, in pieces of `piece` bytes. */
static int napd_loop(const char *dir, const char *how, long long piece) {
    int rotating = strcmp(how, "none") != 0;
    char log[4096];
    snprintf(log, sizeof log, "%s/out.log", dir);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    napping = 1;
    long long fpos = 0;
    for (;;) {
        int avail = 0;
        if (ioctl(0, FIONREAD, &avail)) { perror("FIONREAD"); return 1; }
        /* an empty pipe: one splice tells the end (0) from nothing yet (EAGAIN) */
        long long left = avail > 0 ? avail : 1;
        while (left > 0) {
            long long w = avail > 0 && left < piece ? left : piece;
            if (rotating && w > MAXBYTES - fpos) w = MAXBYTES - fpos;
            ssize_t m = splice(0, NULL, fd, NULL, w, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
            if (m == 0) return 0;
            if (m < 0 && errno == EINTR) continue;
            if (m < 0 && errno == EAGAIN) break;
            if (m < 0) { perror("splice"); return 1; }
            left -= m;
            fd = advance(fd, &fpos, m, rotating, dir, how);
        }
        wait_readable();
    }
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) { fprintf(stderr, "usage: %s MODE ROTATION DIR [SCHED]\n", argv[0]); return 2; }
    const char *mode = argv[1], *how = argv[2], *dir = argv[3], *sched = argc == 5 ? argv[4] : "normal";
    int rotating = strcmp(how, "none") != 0;
    fcntl(0, F_SETPIPE_SZ, 1 << 20);
    if (!strcmp(sched, "idle")) {
        struct sched_param sp = {0};
        if (sched_setscheduler(0, SCHED_IDLE, &sp)) { perror("SCHED_IDLE"); return 1; }
    } else if (!strncmp(sched, "nice", 4)) {
        if (setpriority(PRIO_PROCESS, 0, atoi(sched + 4))) { perror("setpriority"); return 1; }
    } else if (strcmp(sched, "normal")) {
        fprintf(stderr, "SCHED: normal, idle or niceN\n");
        return 2;
    }
    if (!strncmp(mode, "napd", 4)) {
        fcntl(0, F_SETFL, O_NONBLOCK);
        return napd_loop(dir, how, mode[4] ? atoll(mode + 4) * 1024 : ALIGN);
    }
    if (!strcmp(mode, "naprw") || !strcmp(mode, "nap")) {
        fcntl(0, F_SETFL, O_NONBLOCK);
        return nap_loop(!strcmp(mode, "nap"), dir, how);
    }
    if (strcmp(mode, "rw")) fcntl(0, F_SETFL, O_NONBLOCK);
    int splicing = !strncmp(mode, "splice", 6);
    char log[4096];
    snprintf(log, sizeof log, "%s/out.log", dir);
    /* splice refuses O_APPEND files */
    int fd = open(log, O_WRONLY | O_CREAT | (splicing ? O_TRUNC : O_APPEND), 0644);
    int priv[2] = {-1, -1};
    if (!strcmp(mode, "splice2")) { if (pipe(priv)) return 1; fcntl(priv[0], F_SETPIPE_SZ, 1 << 20); }
    long long size = 0;
    for (;;) {
        ssize_t n;
        if (!strcmp(mode, "batch") || !strcmp(mode, "big")) {
            int full_only = !strcmp(mode, "big");
            static size_t have;
            n = read(0, big + have, sizeof big - have);
            int err = errno;
            if (n > 0) {
                have += n;
                size += n;
                if (have < sizeof big) continue;
            }
            if (n < 0 && err == EAGAIN && full_only && have > 0) {
                /* big: write early only when the pipe stays empty for 2 ms */
                struct pollfd p = {0, POLLIN, 0};
                if (poll(&p, 1, 2) != 0) continue;
            }
            if (have > 0 && (n >= 0 || err == EAGAIN)) {
                if (write(fd, big, have) != (ssize_t)have) { perror("write"); return 1; }
                have = 0;
                if (rotating && size >= MAXBYTES) { fd = rotate(dir, how, fd); size = 0; }
            }
            if (n > 0) continue;
            if (n == 0) break;
            if (err == EAGAIN) { wait_readable(); continue; }
            if (err == EINTR) continue;
            errno = err;
            perror("read");
            return 1;
        } else if (!splicing) {
            n = read(0, buf, sizeof buf);
            if (n > 0 && write(fd, buf, n) != n) { perror("write"); return 1; }
        } else if (priv[0] < 0) {
            n = splice(0, NULL, fd, NULL, 1 << 20, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        } else {
            n = splice(0, NULL, priv[1], NULL, 1 << 20, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
            for (ssize_t left = n; left > 0;) {
                ssize_t k = splice(priv[0], NULL, fd, NULL, left, SPLICE_F_MOVE);
                if (k <= 0) { perror("splice"); return 1; }
                left -= k;
            }
        }
        if (n == 0) break;
        if (n < 0) {
            if (errno == EAGAIN) { wait_readable(); continue; }
            if (errno == EINTR) continue;
            perror("read");
            return 1;
        }
        size += n;
        if (rotating && size >= MAXBYTES) {
            if (splicing) { close(fd); fd = -1; }
            fd = rotate(dir, how, fd);
            size = 0;
        }
    }
    return 0;
}
