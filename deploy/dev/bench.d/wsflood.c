/*
 * wsflood — many WebSocket clients on one epoll loop, for the fan-out benchmark
 * (deploy/dev/bench.sh). Python cannot read 100,000 frames/s from 20,000 sockets on
 * this machine; this client costs about a microsecond per read, so what it counts
 * is what the relay delivered.
 *
 * Connection i (FIRST <= i < FIRST+COUNT) authenticates with the Bearer header,
 * subscribes to issue number i / PER_ISSUE of ISSUES_FILE (one id a line), and
 * from then on counts the text frames it receives ("task:message" events apart).
 * It answers pings (the relay closes a client that does not). Source addresses
 * 127.0.0.2 … 127.0.0.(1+SOURCES) spread the ephemeral ports. PORTS is one port
 * or several, comma-separated (one relay each): connection i goes to port
 * i mod their number, so every issue's subscribers are spread over the relays as
 * a round-robin load balancer would spread them.
 *
 * Every 250 ms it rewrites STATS_FILE with one line of cumulative counters:
 *   connected subscribed events bytes closes errors
 * and exits on SIGTERM/SIGINT.
 *
 * usage: wsflood HOST PORTS TOKEN ISSUES_FILE PER_ISSUE FIRST COUNT SOURCES STATS_FILE
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_MESSAGE_MAX 32  /* the start of a message tells what it is */
#include "wsclient.h"

#define MAX_INFLIGHT 200

struct conn {
    struct ws ws;  /* first: the hooks cast back */
    int index, subscribed;
};

static struct conn *conns;
static int count, first, per_issue, sources;
static int ports[64], n_ports;
static char **issues;
static int n_issues;
static const char *stats_path;
static char stats_tmp[4096];
static long connected, subscribed, events, closes, errors, inflight;

static struct conn *conn_of(struct ws *w) { return (struct conn *)w; }

static void write_stats(void) {
    FILE *f = fopen(stats_tmp, "w");
    if (!f) return;
    fprintf(f, "%ld %ld %ld %llu %ld %ld\n", connected, subscribed, events, ws_bytes_in, closes, errors);
    fclose(f);
    rename(stats_tmp, stats_path);
}

static void ws_on_open(struct ws *w) {
    connected++;
    ws_subscribe(w, issues[(conn_of(w)->index / per_issue) % n_issues]);
}

static void ws_on_message(struct ws *w, const char *text, size_t len, double t) {
    struct conn *c = conn_of(w);
    (void)t;
    if (len >= 21 && memcmp(text, "{\"type\":\"task:message\"", 21) == 0) {
        events++;
    } else if (len >= 19 && memcmp(text, "{\"type\":\"subscribed\"", 19) == 0) {
        if (!c->subscribed) {
            c->subscribed = 1;
            subscribed++;
            inflight--;
        }
    } else if (len >= 14 && memcmp(text, "{\"type\":\"error", 14) == 0) {
        if (errors < 5) fprintf(stderr, "wsflood: connection %d: %.*s…\n", c->index, (int)len, text);
        errors++;
        if (!c->subscribed) ws_end(w, WS_DROPPED, "subscription refused");  /* forbidden, unauthorized */
    }
}

static void ws_on_end(struct ws *w, enum ws_end how, const char *why) {
    struct conn *c = conn_of(w);
    if (c->subscribed) {
        subscribed--;
    } else {
        inflight--;  /* it was still connecting or subscribing */
    }
    if (w->state == WS_OPEN) connected--;
    if (how == WS_CLOSE_FRAME && ++closes <= 5) fprintf(stderr, "wsflood: connection %d %s\n", c->index, why);
    if (how == WS_FAILED) {
        if (errors < 5) fprintf(stderr, "wsflood: connection %d: %s\n", c->index, why);
        errors++;
    }
}

static void start(struct conn *c) {
    char src[32];
    snprintf(src, sizeof src, "127.0.0.%d", 2 + c->index % sources);
    if (ws_connect(&c->ws, src) < 0) {
        if (errors < 5) fprintf(stderr, "wsflood: connection %d: connect from %s: %s\n", c->index, src, strerror(errno));
        errors++;
        return;
    }
    inflight++;
}

int main(int argc, char **argv) {
    if (argc != 10) {
        fprintf(stderr, "usage: wsflood HOST PORTS TOKEN ISSUES_FILE PER_ISSUE FIRST COUNT SOURCES STATS_FILE\n");
        return 2;
    }
    ws_server.host = argv[1];
    for (char *p = argv[2]; *p && n_ports < 64; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
        ports[n_ports] = atoi(p);
        if (ports[n_ports] <= 0) { fprintf(stderr, "wsflood: bad port list %s\n", argv[2]); return 2; }
        n_ports++;
    }
    ws_server.port = ports[0];
    ws_server.token = argv[3];
    ws_server.path = "/ws";
    per_issue = atoi(argv[5]);
    first = atoi(argv[6]);
    count = atoi(argv[7]);
    sources = atoi(argv[8]);
    stats_path = argv[9];
    snprintf(stats_tmp, sizeof stats_tmp, "%s.tmp", stats_path);
    issues = read_lines(argv[4], &n_issues);
    if (!n_issues || !n_ports || per_issue < 1 || count < 1 || sources < 1) { fprintf(stderr, "wsflood: bad arguments\n"); return 2; }

    loop_init();
    conns = calloc(count, sizeof *conns);
    if (!conns) die("out of memory");
    for (int i = 0; i < count; i++) {
        conns[i].index = first + i;
        conns[i].ws.port = ports[(first + i) % n_ports];
    }
    int next = 0;
    double last_stats = 0;
    struct epoll_event evs[512];
    while (!stop) {
        while (next < count && inflight < MAX_INFLIGHT) start(&conns[next++]);
        int n = epoll_wait(epfd, evs, 512, 50);
        for (int i = 0; i < n; i++) ws_event(evs[i].data.ptr, evs[i].events);
        double t = now();
        if (t - last_stats >= 0.25) {
            write_stats();
            last_stats = t;
        }
    }
    write_stats();
    printf("%ld %ld %ld %llu %ld %ld\n", connected, subscribed, events, ws_bytes_in, closes, errors);
    return 0;
}
