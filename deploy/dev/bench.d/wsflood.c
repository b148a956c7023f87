/*
 * wsflood — many WebSocket clients on one epoll loop, for the fan-out benchmark
 * (deploy/dev/bench). Python cannot read 100,000 frames/s from 20,000 sockets on
 * this machine; this client costs about a microsecond per read, so what it counts
 * is what the relay delivered.
 *
 * Connection i (FIRST <= i < FIRST+COUNT) authenticates with the Bearer header,
 * subscribes to issue number i / PER_ISSUE of ISSUES_FILE (one id a line), and
 * from then on counts the text frames it receives ("task:message" events apart).
 * It answers pings (the relay closes a client that does not). Source addresses
 * 127.0.0.2 … 127.0.0.(1+SOURCES) spread the ephemeral ports.
 *
 * Every 250 ms it rewrites STATS_FILE with one line of cumulative counters:
 *   connected subscribed events bytes closes errors
 * and exits on SIGTERM/SIGINT.
 *
 * usage: wsflood HOST PORT TOKEN ISSUES_FILE PER_ISSUE FIRST COUNT SOURCES STATS_FILE
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { IDLE, CONNECTING, HANDSHAKE, OPEN, DONE };
#define MAX_INFLIGHT 200
#define HS_MAX 2048

struct conn {
    int fd, state, index;
    int subscribed;
    /* handshake response */
    char *hs;
    int hs_len;
    /* frame parser */
    unsigned char hdr[14];
    int hlen, htotal, in_payload, opcode;
    uint64_t need;
    char cls[32];
    int cls_len;
    unsigned char ctrl[125];
    int ctrl_len;
    /* pending output */
    unsigned char *out;
    int out_len;
};

static struct conn *conns;
static int count, first, per_issue, sources, port, epfd;
static char **issues;
static int n_issues;
static const char *host, *token, *stats_path;
static char stats_tmp[4096];
static long connected, subscribed, events, closes, errors, inflight;
static unsigned long long bytes;
static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void write_stats(void) {
    FILE *f = fopen(stats_tmp, "w");
    if (!f) return;
    fprintf(f, "%ld %ld %ld %llu %ld %ld\n", connected, subscribed, events, bytes, closes, errors);
    fclose(f);
    rename(stats_tmp, stats_path);
}

static void finish(struct conn *c, int error) {
    if (c->state == DONE) return;
    if (c->state == CONNECTING || c->state == HANDSHAKE || (c->state == OPEN && !c->subscribed)) inflight--;
    if (c->state == OPEN) connected--;
    if (c->subscribed) subscribed--;
    if (error) errors++;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->state = DONE;
    free(c->hs);
    c->hs = NULL;
    free(c->out);
    c->out = NULL;
}

static void send_bytes(struct conn *c, const unsigned char *data, int len) {
    if (c->out_len == 0) {
        ssize_t n = write(c->fd, data, len);
        if (n == len) return;
        if (n < 0) {
            if (errno != EAGAIN) { finish(c, 1); return; }
            n = 0;
        }
        data += n;
        len -= n;
    }
    c->out = realloc(c->out, c->out_len + len);
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* A masked client frame (the mask key is fixed: servers do not check it). */
static void send_frame(struct conn *c, int opcode, const void *payload, int len) {
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
    send_bytes(c, frame, h + len);
}

static void frame_done(struct conn *c) {
    switch (c->opcode) {
    case 1:
        if (c->cls_len >= 21 && memcmp(c->cls, "{\"type\":\"task:message\"", 21) == 0) {
            events++;
        } else if (c->cls_len >= 19 && memcmp(c->cls, "{\"type\":\"subscribed\"", 19) == 0) {
            if (!c->subscribed) {
                c->subscribed = 1;
                subscribed++;
                inflight--;
            }
        } else if (c->cls_len >= 14 && memcmp(c->cls, "{\"type\":\"error", 14) == 0) {
            if (errors < 5) fprintf(stderr, "wsflood: connection %d: %.*s…\n", c->index, c->cls_len, c->cls);
            errors++;
            if (!c->subscribed) finish(c, 0);  /* refused (forbidden, unauthorized) */
        }
        break;
    case 8:
        closes++;
        if (closes <= 5) {
            int code = c->ctrl_len >= 2 ? (c->ctrl[0] << 8 | c->ctrl[1]) : 0;
            fprintf(stderr, "wsflood: connection %d closed by the relay (code %d)\n", c->index, code);
        }
        finish(c, 0);
        break;
    case 9:
        send_frame(c, 10, c->ctrl, c->ctrl_len);
        break;
    default:
        break;
    }
}

static void parse(struct conn *c, const unsigned char *buf, size_t n) {
    size_t pos = 0;
    while (pos < n && c->state == OPEN) {
        if (c->in_payload) {
            size_t take = n - pos;
            if (take > c->need) take = c->need;
            if (c->opcode == 1 && c->cls_len < (int)sizeof c->cls) {
                int k = sizeof c->cls - c->cls_len;
                if ((size_t)k > take) k = take;
                memcpy(c->cls + c->cls_len, buf + pos, k);
                c->cls_len += k;
            }
            if (c->opcode >= 8 && c->ctrl_len + take <= sizeof c->ctrl) {
                memcpy(c->ctrl + c->ctrl_len, buf + pos, take);
                c->ctrl_len += take;
            }
            c->need -= take;
            pos += take;
            if (c->need == 0) {
                c->in_payload = 0;
                frame_done(c);
            }
            continue;
        }
        c->hdr[c->hlen++] = buf[pos++];
        if (c->hlen == 2) {
            int len7 = c->hdr[1] & 0x7f;
            c->htotal = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((c->hdr[1] & 0x80) ? 4 : 0);
        }
        if (c->hlen >= 2 && c->hlen == c->htotal) {
            int len7 = c->hdr[1] & 0x7f;
            uint64_t len = len7;
            if (len7 == 126) len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
            if (len7 == 127) {
                len = 0;
                for (int i = 0; i < 8; i++) len = len << 8 | c->hdr[2 + i];
            }
            c->opcode = c->hdr[0] & 0x0f;
            c->hlen = 0;
            c->need = len;
            c->cls_len = 0;
            c->ctrl_len = 0;
            if (len == 0) {
                frame_done(c);
            } else {
                c->in_payload = 1;
            }
        }
    }
}

static void start(struct conn *c) {
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    char ip[32];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) { perror("wsflood: socket"); c->state = DONE; errors++; return; }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    snprintf(ip, sizeof ip, "127.0.0.%d", 2 + c->index % sources);
    inet_pton(AF_INET, ip, &src.sin_addr);
    if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0) { perror("wsflood: bind"); finish(c, 1); return; }
    inet_pton(AF_INET, host, &dst.sin_addr);
    dst.sin_port = htons(port);
    c->state = CONNECTING;
    inflight++;
    if (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
        perror("wsflood: connect");
        finish(c, 1);
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

static void on_writable(struct conn *c) {
    if (c->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            if (errors < 5) fprintf(stderr, "wsflood: connect: %s\n", strerror(err));
            finish(c, 1);
            return;
        }
        char req[1024];
        int n = snprintf(req, sizeof req,
                         "GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                         "Authorization: Bearer %s\r\n\r\n",
                         host, port, token);
        c->state = HANDSHAKE;
        c->hs = malloc(HS_MAX);
        c->hs_len = 0;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        send_bytes(c, (unsigned char *)req, n);
        return;
    }
    if (c->out_len) {
        ssize_t n = write(c->fd, c->out, c->out_len);
        if (n < 0) {
            if (errno != EAGAIN) finish(c, 1);
            return;
        }
        memmove(c->out, c->out + n, c->out_len - n);
        c->out_len -= n;
    }
    if (c->out_len == 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    }
}

static void on_readable(struct conn *c) {
    static unsigned char buf[1 << 16];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n == 0) { finish(c, c->state != OPEN); return; }
        if (n < 0) {
            if (errno != EAGAIN) finish(c, 1);
            return;
        }
        bytes += n;
        if (c->state == HANDSHAKE) {
            int take = n;
            if (c->hs_len + take > HS_MAX - 1) take = HS_MAX - 1 - c->hs_len;
            memcpy(c->hs + c->hs_len, buf, take);
            c->hs_len += take;
            c->hs[c->hs_len] = 0;
            char *end = strstr(c->hs, "\r\n\r\n");
            if (!end) {
                if (c->hs_len >= HS_MAX - 1) finish(c, 1);
                continue;
            }
            if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0) {
                if (errors < 5) fprintf(stderr, "wsflood: upgrade refused: %.60s\n", c->hs);
                finish(c, 1);
                return;
            }
            int used = (end + 4 - c->hs) - (c->hs_len - take);  /* bytes of this read in the head */
            free(c->hs);
            c->hs = NULL;
            c->state = OPEN;
            connected++;
            char sub[160];
            int len = snprintf(sub, sizeof sub, "{\"type\":\"subscribe\",\"payload\":{\"issue_id\":\"%s\"}}",
                               issues[(c->index / per_issue) % n_issues]);
            send_frame(c, 1, sub, len);
            if (used < n) parse(c, buf + used, n - used);
        } else {
            parse(c, buf, n);
        }
        if (c->state == DONE) return;
        if (n < (ssize_t)sizeof buf) return;
    }
}

int main(int argc, char **argv) {
    if (argc != 10) {
        fprintf(stderr, "usage: wsflood HOST PORT TOKEN ISSUES_FILE PER_ISSUE FIRST COUNT SOURCES STATS_FILE\n");
        return 2;
    }
    host = argv[1];
    port = atoi(argv[2]);
    token = argv[3];
    per_issue = atoi(argv[5]);
    first = atoi(argv[6]);
    count = atoi(argv[7]);
    sources = atoi(argv[8]);
    stats_path = argv[9];
    snprintf(stats_tmp, sizeof stats_tmp, "%s.tmp", stats_path);

    FILE *f = fopen(argv[4], "r");
    if (!f) { perror(argv[4]); return 2; }
    char line[128];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!*line) continue;
        issues = realloc(issues, sizeof *issues * (n_issues + 1));
        issues[n_issues++] = strdup(line);
    }
    fclose(f);
    if (!n_issues || per_issue < 1 || count < 1 || sources < 1) { fprintf(stderr, "wsflood: bad arguments\n"); return 2; }

    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    epfd = epoll_create1(0);
    conns = calloc(count, sizeof *conns);
    for (int i = 0; i < count; i++) {
        conns[i].fd = -1;
        conns[i].index = first + i;
        conns[i].state = IDLE;
    }
    int next = 0;
    double last_stats = 0;
    struct epoll_event evs[512];
    while (!stop) {
        while (next < count && inflight < MAX_INFLIGHT) start(&conns[next++]);
        int n = epoll_wait(epfd, evs, 512, 50);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->state == DONE) continue;
            if (evs[i].events & (EPOLLERR | EPOLLHUP) && c->state == CONNECTING) { on_writable(c); continue; }
            if (evs[i].events & EPOLLOUT) on_writable(c);
            if (c->state != DONE && evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
        }
        double t = now();
        if (t - last_stats >= 0.25) {
            write_stats();
            last_stats = t;
        }
    }
    write_stats();
    printf("%ld %ld %ld %llu %ld %ld\n", connected, subscribed, events, bytes, closes, errors);
    return 0;
}
