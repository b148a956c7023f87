/*
 * wsclient.h — what the C clients of deploy/dev/bench.sh (wsflood.c, latency.c)
 * share: a WebSocket client for many connections on one epoll loop (connect,
 * upgrade with a Bearer token, masked frames out with the output the socket did
 * not take kept for EPOLLOUT, a frame parser that joins a message's frames and
 * answers pings), and the small helpers around it (clock, die, signals, epoll,
 * reading a file of ids).
 *
 * A header of static functions rather than a library: the bench compiles each
 * client as a single `cc -O2 file.c`, so all they can share is an #include of
 * this file next to them. libc and epoll only.
 *
 * The program that includes it:
 *   - puts a struct ws first in its connection struct (the hooks cast back;
 *     zeroed, it is WS_IDLE);
 *   - sets ws_server, calls loop_init, then ws_connect per connection and
 *     ws_event for every epoll event whose data.ptr is a struct ws;
 *   - defines the hooks ws_on_open, ws_on_message and ws_on_end (below);
 *   - may define WS_MESSAGE_MAX before the #include (how much of a message
 *     it wants to see; the rest is read and skipped).
 */
#ifndef WSCLIENT_H
#define WSCLIENT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef WS_MESSAGE_MAX
#define WS_MESSAGE_MAX (1 << 20)
#endif
#define WS_HANDSHAKE_MAX 4096

/* ------------------------------------------------------------------ helpers */

static volatile sig_atomic_t stop;  /* SIGTERM/SIGINT: the main loop ends */
static int epfd;

static void on_signal(int sig) { (void)sig; stop = 1; }

/* CLOCK_MONOTONIC seconds (Python's time.monotonic()): one clock for every
 * process on the machine, so times from different clients subtract. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", program_invocation_short_name);  /* "latency: ", "wsflood: " */
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n);
    if (!p && n) die("out of memory");
    return p;
}

/* The non-empty lines of a file (ids), blanks around them trimmed. */
static char **read_lines(const char *path, int *n) {
    FILE *f = fopen(path, "r");
    if (!f) die("%s: %s", path, strerror(errno));
    char **lines = NULL, line[512];
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        char *s = line, *e;
        while (*s == ' ' || *s == '\t') s++;
        e = s + strcspn(s, "\r\n");
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        *e = 0;
        if (!*s) continue;
        lines = xrealloc(lines, sizeof *lines * (*n + 1));
        lines[(*n)++] = strdup(s);
    }
    fclose(f);
    return lines;
}

/* SIGTERM/SIGINT set stop (no SA_RESTART: epoll_wait returns at once); a peer
 * that went away is a write error, not a SIGPIPE. Then the epoll set. */
static void loop_init(void) {
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1: %s", strerror(errno));
}

static void set_events(int fd, uint32_t events, void *ptr, int op) {
    struct epoll_event ev = {.events = events, .data.ptr = ptr};
    if (epoll_ctl(epfd, op, fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
}

/* A non-blocking TCP socket connecting to host:port (IPv4 addresses), from
 * src_ip when given (several loopback sources spread the ephemeral ports).
 * Nagle is off: a request or a small frame goes out at once. Returns -1 with
 * errno when that fails at once; a later failure shows on EPOLLOUT. */
static int tcp_open(const char *src_ip, const char *host, int port) {
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &dst.sin_addr) != 1 || (src_ip && inet_pton(AF_INET, src_ip, &src.sin_addr) != 1)) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if ((src_ip && bind(fd, (struct sockaddr *)&src, sizeof src) < 0) ||
        (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS)) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* ------------------------------------------------------------------ WebSocket */

enum { WS_IDLE, WS_CONNECTING, WS_HANDSHAKE, WS_OPEN, WS_DONE };

/* Why a connection ended, for ws_on_end. */
enum ws_end {
    WS_FAILED,       /* connect, upgrade, read or write failed (or the server hung up before the upgrade) */
    WS_CLOSE_FRAME,  /* the server sent a close frame */
    WS_EOF,          /* the server ended the TCP connection without one */
    WS_DROPPED,      /* the program called ws_end itself */
};

struct ws {
    int fd, state;
    char *hs;                 /* handshake response so far */
    int hs_len;
    unsigned char hdr[14];    /* frame header being read */
    int hlen, htotal, in_payload, opcode;
    uint64_t need;            /* payload bytes of the frame still to come */
    char *msg;                /* the message so far (frames joined), NUL-terminated */
    size_t msg_len, msg_cap;
    int msg_opcode;
    unsigned char ctrl[125];  /* control frame payload (ping, close) */
    int ctrl_len;
    unsigned char *out;       /* output the socket did not take yet */
    int out_len;
    int port;                 /* the server's port for this connection; 0: ws_server.port */
};

/* The server all of the program's connections talk to (a connection may name
 * another port of the same host in its own `port`). */
static struct {
    const char *host, *path, *token;
    int port;
} ws_server;

static unsigned long long ws_bytes_in;  /* read by all connections, handshakes included */

/* The hooks, defined by the program. */
static void ws_on_open(struct ws *w);  /* upgraded: time to subscribe */
/* A whole text message (its first WS_MESSAGE_MAX bytes, NUL-terminated); t is
 * when the read that completed it returned. */
static void ws_on_message(struct ws *w, const char *text, size_t len, double t);
/* Called once, before the socket is closed: w->state is still the state the
 * connection ended in. */
static void ws_on_end(struct ws *w, enum ws_end how, const char *why);

static void ws_end(struct ws *w, enum ws_end how, const char *why) {
    if (w->state == WS_IDLE || w->state == WS_DONE) return;  /* no socket */
    ws_on_end(w, how, why);
    if (w->fd >= 0) close(w->fd);  /* also leaves the epoll set */
    w->fd = -1;
    w->state = WS_DONE;
    free(w->hs);
    free(w->msg);
    free(w->out);
    w->hs = w->msg = NULL;
    w->out = NULL;
    w->msg_len = w->msg_cap = 0;
    w->out_len = 0;
}

static void ws_fail(struct ws *w, const char *what, int err) {
    char why[160];
    snprintf(why, sizeof why, "%s: %s", what, strerror(err));
    ws_end(w, WS_FAILED, why);
}

/* Writes what the socket takes now; the rest waits for EPOLLOUT (ws_writable). */
static void ws_send(struct ws *w, const void *data, int len) {
    const unsigned char *p = data;
    if (w->state == WS_DONE) return;
    if (w->out_len == 0) {
        ssize_t n = write(w->fd, p, len);
        if (n == len) return;
        if (n < 0) {
            if (errno != EAGAIN) { ws_fail(w, "write", errno); return; }
            n = 0;
        }
        p += n;
        len -= n;
    }
    w->out = xrealloc(w->out, w->out_len + len);
    memcpy(w->out + w->out_len, p, len);
    w->out_len += len;
    set_events(w->fd, EPOLLIN | EPOLLOUT, w, EPOLL_CTL_MOD);
}

/* A masked client frame (the mask key is fixed: servers do not check it). */
static void ws_send_frame(struct ws *w, int opcode, const void *payload, int len) {
    unsigned char frame[256 + 14];
    static const unsigned char mask[4] = {0x11, 0x22, 0x33, 0x44};
    int h = 0;
    if (len > 256) return;
    frame[h++] = 0x80 | opcode;
    if (len < 126) {
        frame[h++] = 0x80 | len;
    } else {
        frame[h++] = 0x80 | 126;
        frame[h++] = len >> 8;
        frame[h++] = len & 0xff;
    }
    memcpy(frame + h, mask, 4);
    h += 4;
    for (int i = 0; i < len; i++) frame[h + i] = ((const unsigned char *)payload)[i] ^ mask[i & 3];
    ws_send(w, frame, h + len);
}

/* The relay's subscribe message; it answers "subscribed" (or "error"). */
static void ws_subscribe(struct ws *w, const char *issue_id) {
    char sub[256];
    int len = snprintf(sub, sizeof sub, "{\"type\":\"subscribe\",\"payload\":{\"issue_id\":\"%s\"}}", issue_id);
    ws_send_frame(w, 1, sub, len);
}

static void ws_frame_done(struct ws *w, double t) {
    switch (w->opcode) {
    case 0:  /* continuation */
    case 1:  /* text */
    case 2:  /* binary */
        if (w->opcode) w->msg_opcode = w->opcode;
        if (w->hdr[0] & 0x80) {  /* FIN: the message is whole */
            if (w->msg_opcode == 1) ws_on_message(w, w->msg, w->msg_len, t);
            w->msg_len = 0;
        }
        break;
    case 8: {
        char why[64];
        int code = w->ctrl_len >= 2 ? (w->ctrl[0] << 8 | w->ctrl[1]) : 0;
        snprintf(why, sizeof why, "closed by the relay (code %d)", code);
        ws_end(w, WS_CLOSE_FRAME, why);
        break;
    }
    case 9:  /* ping: the relay closes a client that does not answer */
        ws_send_frame(w, 10, w->ctrl, w->ctrl_len);
        break;
    default:
        break;
    }
}

/* Frames from one read; t is when the read returned. */
static void ws_parse(struct ws *w, const unsigned char *buf, size_t n, double t) {
    size_t pos = 0;
    while (pos < n && w->state == WS_OPEN) {
        if (w->in_payload) {
            size_t take = n - pos;
            if (take > w->need) take = w->need;
            if (w->opcode < 8) {
                size_t k = take;  /* what is kept of it */
                if (w->msg_len + k > WS_MESSAGE_MAX) k = w->msg_len < WS_MESSAGE_MAX ? WS_MESSAGE_MAX - w->msg_len : 0;
                if (w->msg_len + k + 1 > w->msg_cap) {
                    w->msg_cap = (w->msg_len + k + 1) * 2;
                    w->msg = xrealloc(w->msg, w->msg_cap);
                }
                memcpy(w->msg + w->msg_len, buf + pos, k);
                w->msg_len += k;
                w->msg[w->msg_len] = 0;
            } else if (w->ctrl_len + take <= sizeof w->ctrl) {
                memcpy(w->ctrl + w->ctrl_len, buf + pos, take);
                w->ctrl_len += take;
            }
            w->need -= take;
            pos += take;
            if (w->need == 0) {
                w->in_payload = 0;
                ws_frame_done(w, t);
            }
            continue;
        }
        w->hdr[w->hlen++] = buf[pos++];
        if (w->hlen == 2) {
            int len7 = w->hdr[1] & 0x7f;
            w->htotal = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((w->hdr[1] & 0x80) ? 4 : 0);
        }
        if (w->hlen >= 2 && w->hlen == w->htotal) {
            int len7 = w->hdr[1] & 0x7f;
            uint64_t len = len7;
            if (len7 == 126) len = (uint64_t)w->hdr[2] << 8 | w->hdr[3];
            if (len7 == 127) {
                len = 0;
                for (int i = 0; i < 8; i++) len = len << 8 | w->hdr[2 + i];
            }
            w->opcode = w->hdr[0] & 0x0f;
            w->hlen = 0;
            w->need = len;
            w->ctrl_len = 0;
            if (w->opcode == 1 || w->opcode == 2) w->msg_len = 0;
            if (w->msg_cap == 0) {
                w->msg_cap = WS_MESSAGE_MAX < 4096 ? WS_MESSAGE_MAX + 1 : 4096;
                w->msg = xrealloc(NULL, w->msg_cap);
            }
            w->msg[w->msg_len] = 0;
            if (len == 0) {
                ws_frame_done(w, t);
            } else {
                w->in_payload = 1;
            }
        }
    }
}

/* Starts connecting to ws_server (from src_ip when given). Returns -1 with errno
 * when that fails at once: the connection is then DONE, without ws_on_end. */
static int ws_port(const struct ws *w) { return w->port ? w->port : ws_server.port; }

static int ws_connect(struct ws *w, const char *src_ip) {
    w->fd = tcp_open(src_ip, ws_server.host, ws_port(w));
    if (w->fd < 0) {
        w->state = WS_DONE;
        return -1;
    }
    w->state = WS_CONNECTING;
    set_events(w->fd, EPOLLIN | EPOLLOUT, w, EPOLL_CTL_ADD);
    return 0;
}

/* Connected (or not): send the upgrade. Open: write the pending output. */
static void ws_writable(struct ws *w) {
    if (w->state == WS_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            char what[96];
            snprintf(what, sizeof what, "connect to %s:%d", ws_server.host, ws_port(w));
            ws_fail(w, what, err);
            return;
        }
        char req[2048];
        int n = snprintf(req, sizeof req,
                         "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                         "Authorization: Bearer %s\r\n\r\n",
                         ws_server.path, ws_server.host, ws_port(w), ws_server.token);
        if (n >= (int)sizeof req) { ws_end(w, WS_FAILED, "the token is too long"); return; }
        w->state = WS_HANDSHAKE;
        w->hs = xrealloc(NULL, WS_HANDSHAKE_MAX);
        w->hs_len = 0;
        set_events(w->fd, EPOLLIN, w, EPOLL_CTL_MOD);
        ws_send(w, req, n);
        return;
    }
    if (w->out_len) {
        ssize_t n = write(w->fd, w->out, w->out_len);
        if (n < 0) {
            if (errno != EAGAIN) ws_fail(w, "write", errno);
            return;
        }
        memmove(w->out, w->out + n, w->out_len - n);
        w->out_len -= n;
    }
    if (w->out_len == 0) set_events(w->fd, EPOLLIN, w, EPOLL_CTL_MOD);
}

/* Reads until the socket is empty: the upgrade response, then frames. */
static void ws_readable(struct ws *w) {
    static unsigned char buf[1 << 16];
    for (;;) {
        ssize_t n = read(w->fd, buf, sizeof buf);
        double t = now();  /* every frame of this read arrived by now */
        if (n == 0) {
            ws_end(w, w->state == WS_OPEN ? WS_EOF : WS_FAILED, "connection closed");
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN) ws_fail(w, "read", errno);
            return;
        }
        ws_bytes_in += n;
        if (w->state == WS_HANDSHAKE) {
            int take = n;
            if (w->hs_len + take > WS_HANDSHAKE_MAX - 1) take = WS_HANDSHAKE_MAX - 1 - w->hs_len;
            memcpy(w->hs + w->hs_len, buf, take);
            w->hs_len += take;
            w->hs[w->hs_len] = 0;
            char *end = strstr(w->hs, "\r\n\r\n");
            if (!end) {
                if (w->hs_len < WS_HANDSHAKE_MAX - 1) continue;
                ws_end(w, WS_FAILED, "handshake response too long");
                return;
            }
            if (strncmp(w->hs, "HTTP/1.1 101", 12) != 0) {
                char why[128];
                snprintf(why, sizeof why, "upgrade refused: %.*s", (int)strcspn(w->hs, "\r\n"), w->hs);
                ws_end(w, WS_FAILED, why);
                return;
            }
            int used = (end + 4 - w->hs) - (w->hs_len - take);  /* bytes of this read in the head */
            free(w->hs);
            w->hs = NULL;
            w->state = WS_OPEN;
            ws_on_open(w);
            if (used < n) ws_parse(w, buf + used, n - used, t);
        } else {
            ws_parse(w, buf, n, t);
        }
        if (w->state == WS_DONE) return;
        if (n < (ssize_t)sizeof buf) return;
    }
}

/* One epoll event of a connection. A connect that failed shows as ERR/HUP:
 * ws_writable reads SO_ERROR and reports it. */
static void ws_event(struct ws *w, uint32_t events) {
    if (w->state == WS_DONE) return;
    if (events & (EPOLLERR | EPOLLHUP) && w->state == WS_CONNECTING) {
        ws_writable(w);
        return;
    }
    if (events & EPOLLOUT) ws_writable(w);
    if (w->state != WS_DONE && events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ws_readable(w);
}

#endif
