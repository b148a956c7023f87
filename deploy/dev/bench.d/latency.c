/*
 * latency — the clients of the latency figure of deploy/dev/bench.sh, on one epoll
 * loop each, so that what they measure is the stack and not themselves (the
 * Python clients used ~0.8 of this machine's 2 cores and their own 5 ms timer
 * fired 30 ms late at p99). Two modes, one process each:
 *
 *   watch  WebSocket watchers through nginx. Watcher n (FIRST <= n < FIRST+COUNT)
 *          authenticates with the Bearer header, subscribes to issue
 *          n % len(ISSUES) and waits for "subscribed" (an "error" frame, or a
 *          connection that ends first, is fatal). When all of them are subscribed
 *          it writes READY and from then on also samples its own loop's lag (how
 *          late a 5 ms timerfd fires). Every task:message frame is recorded as
 *          [task index, seq, received]: "task_id" and "seq" are looked up in the
 *          payload by key (any order), the task index is the line of TASKS (-1 if
 *          unknown). Frames of type resync or error go to "errors". Pings are
 *          answered. Output:
 *            {"records": [[task, seq, t], ...], "lags": [s, ...],
 *             "errors": ["frame", ... at most 20], "closed_early": n}
 *
 *   post   daemons: one keep-alive HTTP/1.1 connection to nginx per task (a line
 *          of TASKS), POSTing BATCH messages of CONTENT_BYTES at RATE_PER_TASK
 *          messages/s: task i is first due at start + interval * i / ntasks
 *          (start = now + 0.2 s, interval = BATCH / RATE_PER_TASK), then every
 *          interval; a late request goes at once. One request in flight per
 *          connection; when nginx closed the connection (keepalive_requests,
 *          keepalive_timeout) it reconnects and sends the request again. Output:
 *            {"records": [[task, seq, answered], ...], "post_times": [s, ...],
 *             "failures": [[status, "body prefix"], ... at most 20],
 *             "failure_count": n, "start": t}
 *
 * Times are CLOCK_MONOTONIC seconds (Python's time.monotonic()), one clock for
 * every process on the machine, so records from different processes subtract;
 * `latency.py analyze` joins them. Both modes run until SIGTERM/SIGINT, then
 * write OUT and exit 0 (post first lets the requests in flight finish, at most
 * 5 s). Fatal errors (cannot connect, subscription refused) go to stderr, exit 1.
 *
 * usage: latency watch --url ws://HOST:PORT/PATH --token T --issues FILE --tasks FILE
 *                      --first N --count N --ready FILE --out FILE
 *        latency post --port PORT --token T --tasks FILE --rate-per-task R --batch N
 *                     [--content-bytes 1024] --out FILE
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/timerfd.h>

#include "wsclient.h"

#define MAX_INFLIGHT 50        /* watchers connecting or subscribing at once */
#define MAX_ERRORS 20
#define ERROR_TEXT 2000

static const char *out_path;

/* A JSON string of bytes: quotes, backslashes and control characters escaped,
 * invalid UTF-8 replaced by '?', so the output always parses. */
static void json_string(FILE *f, const unsigned char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = s[i];
        if (ch == '"' || ch == '\\') {
            fputc('\\', f);
            fputc(ch, f);
        } else if (ch < 0x20) {
            fprintf(f, "\\u%04x", ch);
        } else if (ch < 0x80) {
            fputc(ch, f);
        } else {
            size_t len = ch >= 0xf0 && ch < 0xf5 ? 4 : ch >= 0xe0 ? 3 : ch >= 0xc2 && ch < 0xe0 ? 2 : 0;
            if (ch >= 0xf5) len = 0;
            size_t k = 1;
            while (len && k < len && i + k < n && (s[i + k] & 0xc0) == 0x80) k++;
            if (len && k == len) {
                fwrite(s + i, 1, len, f);
                i += len - 1;
            } else {
                fputc('?', f);
            }
        }
    }
    fputc('"', f);
}

static void close_out(FILE *f) {
    if (ferror(f) | fclose(f)) die("%s: write failed", out_path);
}

struct record { int task; long long seq; double t; };
static struct record *records;
static size_t n_records, cap_records;

static void add_record(int task, long long seq, double t) {
    if (n_records == cap_records) {
        cap_records = cap_records ? cap_records * 2 : 65536;
        records = xrealloc(records, sizeof *records * cap_records);
    }
    records[n_records++] = (struct record){task, seq, t};
}

static void write_records(FILE *f) {
    fputs("\"records\": [", f);
    for (size_t i = 0; i < n_records; i++)
        fprintf(f, "%s[%d, %lld, %.9f]", i ? ", " : "", records[i].task, records[i].seq, records[i].t);
    fputs("]", f);
}

static void write_doubles(FILE *f, const char *name, const double *v, size_t n) {
    fprintf(f, "\"%s\": [", name);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%.9f", i ? ", " : "", v[i]);
    fputs("]", f);
}

static void add_double(double **v, size_t *n, size_t *cap, double x) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16384;
        *v = xrealloc(*v, sizeof **v * *cap);
    }
    (*v)[(*n)++] = x;
}

/* OUT of both modes starts {"records": [...], "<name>": [seconds, ...]; the
 * mode writes the rest. */
static FILE *open_out(const char *name, const double *v, size_t n) {
    FILE *f = fopen(out_path, "w");
    if (!f) die("%s: %s", out_path, strerror(errno));
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    fputc('{', f);
    write_records(f);
    fputs(", ", f);
    write_doubles(f, name, v, n);
    return f;
}

/* Task id -> index (the line of the tasks file), by binary search. */
struct task_key { char id[40]; int index; };
static struct task_key *task_keys;
static int n_task_keys;

static int cmp_task_key(const void *a, const void *b) {
    return strcmp(((const struct task_key *)a)->id, ((const struct task_key *)b)->id);
}

static void index_tasks(char **tasks, int n) {
    task_keys = xrealloc(NULL, sizeof *task_keys * (n ? n : 1));
    for (int i = 0; i < n; i++) {
        snprintf(task_keys[i].id, sizeof task_keys[i].id, "%s", tasks[i]);
        for (char *p = task_keys[i].id; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p += 'a' - 'A';
        task_keys[i].index = i;
    }
    n_task_keys = n;
    qsort(task_keys, n, sizeof *task_keys, cmp_task_key);
}

static int task_index(const char *id) {
    struct task_key key;
    snprintf(key.id, sizeof key.id, "%s", id);
    for (char *p = key.id; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p += 'a' - 'A';
    struct task_key *found = bsearch(&key, task_keys, n_task_keys, sizeof *task_keys, cmp_task_key);
    return found ? found->index : -1;
}

static const char *arg(int argc, char **argv, const char *name, const char *fallback) {
    for (int i = 2; i + 1 < argc; i += 2)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    if (!fallback) die("missing %s", name);
    return fallback;
}

static void arm_timer(int tfd, double at) { /* absolute CLOCK_MONOTONIC; 0 disarms */
    struct itimerspec its = {0};
    if (at > 0) {
        its.it_value.tv_sec = (time_t)at;
        its.it_value.tv_nsec = (long)((at - (double)(time_t)at) * 1e9);
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
    }
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int make_timer(void) {
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (tfd < 0) die("timerfd_create: %s", strerror(errno));
    return tfd;
}

/* ------------------------------------------------------------------ watch */

struct watcher {
    struct ws ws;             /* first: the hooks cast back */
    int index, subscribed;
    const char *issue;
};

static struct watcher *watchers;
static int w_count, w_first, w_inflight, w_subscribed, w_ready, w_closed;
static char w_host[64], w_path[256];
static char **w_issues;
static int w_n_issues;
static double *lags;
static size_t n_lags, cap_lags;
static char *errors[MAX_ERRORS];
static int n_errors;

static struct watcher *watcher_of(struct ws *w) { return (struct watcher *)w; }

/* What a frame says, found by key whatever the order: the top-level "type" and
 * the payload's "task_id" and "seq". A small scanner that knows strings (with
 * escapes) and nesting, so text inside a message's content cannot match. */
struct frame_info {
    char type[32];
    char task_id[40];
    long long seq;
    int has_task, has_seq;
};

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

static void scan_frame(const char *s, size_t n, struct frame_info *fi) {
    int depth = 0, in_payload = 0, payload_next = 0;
    size_t i = 0;
    memset(fi, 0, sizeof *fi);
    while (i < n) {
        char ch = s[i];
        if (ch == '{' || ch == '[') {
            if (ch == '{' && depth == 1 && payload_next) in_payload = 1;
            payload_next = 0;
            depth++;
            i++;
        } else if (ch == '}' || ch == ']') {
            depth--;
            if (depth < 2) in_payload = 0;
            i++;
        } else if (ch == '"') {
            size_t a = ++i;
            while (i < n && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
            if (i >= n) return;
            size_t len = i - a;
            const char *key = s + a;
            i++;
            size_t j = i;
            while (j < n && is_space(s[j])) j++;
            if (j >= n || s[j] != ':') continue;  /* a value, not a key */
            j++;
            while (j < n && is_space(s[j])) j++;
            i = j;
            if (depth == 1) {
                payload_next = len == 7 && memcmp(key, "payload", 7) == 0;
                if (len == 4 && memcmp(key, "type", 4) == 0 && j < n && s[j] == '"') {
                    size_t k = j + 1, m = 0;
                    while (k < n && s[k] != '"' && m < sizeof fi->type - 1) fi->type[m++] = s[k++];
                }
            } else if (depth == 2 && in_payload) {
                if (len == 7 && memcmp(key, "task_id", 7) == 0 && j < n && s[j] == '"' && !fi->has_task) {
                    size_t k = j + 1, m = 0;
                    while (k < n && s[k] != '"' && m < sizeof fi->task_id - 1) fi->task_id[m++] = s[k++];
                    fi->has_task = 1;
                } else if (len == 3 && memcmp(key, "seq", 3) == 0 && !fi->has_seq) {
                    int neg = j < n && s[j] == '-';
                    size_t k = j + neg;
                    long long v = 0;
                    if (k < n && s[k] >= '0' && s[k] <= '9') {
                        while (k < n && s[k] >= '0' && s[k] <= '9') v = v * 10 + (s[k++] - '0');
                        fi->seq = neg ? -v : v;
                        fi->has_seq = 1;
                    }
                }
            }
        } else {
            i++;
        }
    }
}

static void keep_error(const char *text, size_t len) {
    if (n_errors >= MAX_ERRORS) return;
    if (len > ERROR_TEXT) len = ERROR_TEXT;
    errors[n_errors] = xrealloc(NULL, len + 1);
    memcpy(errors[n_errors], text, len);
    errors[n_errors][len] = 0;
    n_errors++;
}

static void ws_on_open(struct ws *w) { ws_subscribe(w, watcher_of(w)->issue); }

static void ws_on_message(struct ws *w, const char *text, size_t len, double t) {
    struct watcher *c = watcher_of(w);
    struct frame_info fi;
    scan_frame(text, len, &fi);
    if (!c->subscribed) {
        if (strcmp(fi.type, "subscribed") == 0) {
            c->subscribed = 1;
            w_subscribed++;
            w_inflight--;
        } else if (strcmp(fi.type, "error") == 0) {
            die("watcher %d: subscribe to %s: %.*s", c->index, c->issue, (int)(len > 500 ? 500 : len), text);
        }
        return;
    }
    if (strcmp(fi.type, "task:message") == 0) {
        if (!fi.has_task || !fi.has_seq) {
            keep_error(text, len);  /* not what analyze expects: show it */
            return;
        }
        add_record(task_index(fi.task_id), fi.seq, t);
    } else if (strcmp(fi.type, "resync") == 0 || strcmp(fi.type, "error") == 0) {
        keep_error(text, len);
    }
}

/* Until all are subscribed a watcher that ends is fatal; after, it is counted. */
static void ws_on_end(struct ws *w, enum ws_end how, const char *why) {
    struct watcher *c = watcher_of(w);
    (void)how;
    if (!w_ready) die("watcher %d (issue %s): %s", c->index, c->issue, why);
    w_closed++;
    if (w_closed <= 3) fprintf(stderr, "latency: watcher %d closed early: %s\n", c->index, why);
}

static void w_start(struct watcher *c) {
    if (ws_connect(&c->ws, NULL) < 0) die("watcher %d: connect to %s:%d: %s", c->index, ws_server.host, ws_server.port, strerror(errno));
    w_inflight++;
}

/* ws://HOST:PORT/PATH into ws_server. */
static int parse_url(const char *url) {
    const char *p = url;
    if (strncmp(p, "ws://", 5) != 0) return 0;
    p += 5;
    size_t h = strcspn(p, ":/");
    if (h == 0 || h >= sizeof w_host) return 0;
    memcpy(w_host, p, h);
    w_host[h] = 0;
    p += h;
    ws_server.port = 80;
    if (*p == ':') {
        ws_server.port = atoi(p + 1);
        p += 1 + strspn(p + 1, "0123456789");
    }
    snprintf(w_path, sizeof w_path, "%s", *p ? p : "/");
    ws_server.host = w_host;
    ws_server.path = w_path;
    return ws_server.port > 0;
}

static int watch(int argc, char **argv) {
    const char *url = arg(argc, argv, "--url", NULL);
    ws_server.token = arg(argc, argv, "--token", NULL);
    const char *issues_path = arg(argc, argv, "--issues", NULL);
    const char *tasks_path = arg(argc, argv, "--tasks", NULL);
    w_first = atoi(arg(argc, argv, "--first", NULL));
    w_count = atoi(arg(argc, argv, "--count", NULL));
    const char *ready_path = arg(argc, argv, "--ready", NULL);
    out_path = arg(argc, argv, "--out", NULL);
    if (!parse_url(url)) die("%s: want ws://HOST:PORT/PATH", url);
    w_issues = read_lines(issues_path, &w_n_issues);
    int n_tasks;
    char **tasks = read_lines(tasks_path, &n_tasks);
    index_tasks(tasks, n_tasks);
    if (!w_n_issues || w_count < 1 || w_first < 0) die("bad arguments (no issues, or --count < 1)");

    loop_init();
    watchers = calloc(w_count, sizeof *watchers);
    if (!watchers) die("out of memory");
    for (int i = 0; i < w_count; i++) {
        watchers[i].index = w_first + i;
        watchers[i].issue = w_issues[(w_first + i) % w_n_issues];
    }
    int tfd = make_timer();
    set_events(tfd, EPOLLIN, NULL, EPOLL_CTL_ADD);
    double lag_due = 0;
    int next = 0;
    struct epoll_event evs[256];
    while (!stop) {
        while (next < w_count && w_inflight < MAX_INFLIGHT) w_start(&watchers[next++]);
        if (!w_ready && w_subscribed == w_count) {
            FILE *f = fopen(ready_path, "w");
            if (!f) die("%s: %s", ready_path, strerror(errno));
            fputs("ready\n", f);
            fclose(f);
            w_ready = 1;
            lag_due = now() + 0.005;
            arm_timer(tfd, lag_due);
        }
        int n = epoll_wait(epfd, evs, 256, 100);
        if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            struct ws *w = evs[i].data.ptr;
            if (!w) {  /* the lag sampler: how late did the 5 ms timer fire? */
                uint64_t expirations;
                if (read(tfd, &expirations, sizeof expirations) < 0) continue;
                double t = now();
                add_double(&lags, &n_lags, &cap_lags, t - lag_due);
                lag_due = t + 0.005;
                arm_timer(tfd, lag_due);
                continue;
            }
            ws_event(w, evs[i].events);
        }
    }

    FILE *f = open_out("lags", lags, n_lags);
    fputs(", \"errors\": [", f);
    for (int i = 0; i < n_errors; i++) {
        if (i) fputs(", ", f);
        json_string(f, (unsigned char *)errors[i], strlen(errors[i]));
    }
    fprintf(f, "], \"closed_early\": %d}\n", w_closed);
    close_out(f);
    return 0;
}

/* ------------------------------------------------------------------ post */

struct poster {
    int fd, index, connected, busy, attempts;
    const char *task;
    double due, sent;
    long long seq, first;     /* messages first..seq are in the request */
    char *req;                /* the request in flight (head and body) */
    size_t req_len, req_off, req_cap;
    char *in;                 /* the response so far */
    size_t in_len, in_cap;
};

static struct poster *posters;
static int p_count, p_port, p_batch;
static const char *p_token;
static char *content;
static size_t content_len;
static double *post_times;
static size_t n_post_times, cap_post_times;
static long failure_count;
static struct { int status; char body[201]; int len; } failures[MAX_ERRORS];
static int n_failures;

static void p_connect(struct poster *c) {
    c->fd = tcp_open(NULL, "127.0.0.1", p_port);
    if (c->fd < 0) die("connect to 127.0.0.1:%d: %s", p_port, strerror(errno));
    c->connected = 0;
    c->in_len = 0;
    set_events(c->fd, EPOLLIN | EPOLLOUT, c, EPOLL_CTL_ADD);
}

static void p_close(struct poster *c) {
    if (c->fd >= 0) close(c->fd);  /* also leaves the epoll set */
    c->fd = -1;
    c->connected = 0;
    c->in_len = 0;
}

static void p_flush(struct poster *c) {
    while (c->req_off < c->req_len) {
        ssize_t n = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
        if (n < 0) {
            if (errno == EAGAIN) {
                set_events(c->fd, EPOLLIN | EPOLLOUT, c, EPOLL_CTL_MOD);
                return;
            }
            return;  /* the read side sees the error or the close: resend */
        }
        c->req_off += n;
    }
    set_events(c->fd, EPOLLIN, c, EPOLL_CTL_MOD);
}

/* The connection ended without (all of) the answer: nginx closed a keep-alive
 * connection. Send the request again on a new one, three tries in all. */
static void p_retry(struct poster *c, const char *why) {
    p_close(c);
    if (!c->busy) return;
    if (++c->attempts >= 3) die("task %s: %s, three times", c->task, why);
    c->req_off = 0;
    p_connect(c);
}

static void p_send(struct poster *c) {
    static char *body;
    static size_t body_cap;
    size_t need = 32 + (size_t)p_batch * (content_len + 64);
    if (need > body_cap) {
        body_cap = need;
        body = xrealloc(body, body_cap);
    }
    size_t b = 0;
    c->first = c->seq + 1;
    b += sprintf(body + b, "{\"messages\":[");
    for (int j = 0; j < p_batch; j++) {
        b += sprintf(body + b, "%s{\"seq\":%lld,\"type\":\"text\",\"content\":\"", j ? "," : "", c->seq + j + 1);
        memcpy(body + b, content, content_len);
        b += content_len;
        b += sprintf(body + b, "\"}");
    }
    b += sprintf(body + b, "]}");
    c->seq += p_batch;
    size_t head_room = 256 + strlen(c->task) + strlen(p_token);
    if (head_room + b > c->req_cap) {
        c->req_cap = head_room + b;
        c->req = xrealloc(c->req, c->req_cap);
    }
    int h = snprintf(c->req, head_room,
                     "POST /api/daemon/tasks/%s/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Authorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     c->task, p_token, b);
    if (h < 0 || (size_t)h >= head_room) die("request head too long");
    memcpy(c->req + h, body, b);
    c->req_len = h + b;
    c->req_off = 0;
    c->busy = 1;
    c->attempts = 0;
    c->sent = now();
    if (c->fd < 0) {
        p_connect(c);
    } else if (c->connected) {
        p_flush(c);
    }
}

/* Returns 1 when the response is complete (and handled). */
static int p_response(struct poster *c, double t) {
    c->in[c->in_len] = 0;
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end) return 0;
    size_t head_len = end + 4 - c->in;
    if (strncmp(c->in, "HTTP/1.", 7) != 0) die("task %s: not an HTTP response: %.60s", c->task, c->in);
    int status = atoi(c->in + 9);
    long long length = 0;
    int close_after = 0;
    for (char *line = strstr(c->in, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "content-length:", 15) == 0) length = atoll(line + 15);
        if (strncasecmp(line, "connection:", 11) == 0) {
            char *v = line + 11;
            while (*v == ' ' || *v == '\t') v++;
            if (strncasecmp(v, "close", 5) == 0) close_after = 1;
        }
        if (strncasecmp(line, "transfer-encoding:", 18) == 0) die("task %s: chunked responses are not supported", c->task);
    }
    if (c->in_len < head_len + length) return 0;
    if (status != 200) {
        failure_count++;
        if (n_failures < MAX_ERRORS) {
            int len = length < 200 ? (int)length : 200;
            failures[n_failures].status = status;
            memcpy(failures[n_failures].body, c->in + head_len, len);
            failures[n_failures].len = len;
            n_failures++;
        }
    } else {
        add_double(&post_times, &n_post_times, &cap_post_times, t - c->sent);
        for (long long s = c->first; s <= c->seq; s++) add_record(c->index, s, t);
    }
    c->busy = 0;
    c->in_len = 0;
    if (close_after) p_close(c);
    return 1;
}

static void p_readable(struct poster *c) {
    for (;;) {
        if (c->in_cap - c->in_len < 16384 + 1) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 65536;
            c->in = xrealloc(c->in, c->in_cap);
        }
        ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1);
        double t = now();
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            p_retry(c, n == 0 ? "connection closed before the answer" : strerror(errno));
            return;
        }
        if (n < 0) return;
        if (!c->busy) continue;  /* nothing asked: ignore */
        c->in_len += n;
        if (p_response(c, t)) return;
    }
}

static void p_writable(struct poster *c) {
    if (!c->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) die("connect to 127.0.0.1:%d: %s", p_port, strerror(err));
        c->connected = 1;
        if (!c->busy) {
            set_events(c->fd, EPOLLIN, c, EPOLL_CTL_MOD);
            return;
        }
    }
    p_flush(c);
}

static int post(int argc, char **argv) {
    p_port = atoi(arg(argc, argv, "--port", NULL));
    p_token = arg(argc, argv, "--token", NULL);
    const char *tasks_path = arg(argc, argv, "--tasks", NULL);
    double rate_per_task = atof(arg(argc, argv, "--rate-per-task", NULL));
    p_batch = atoi(arg(argc, argv, "--batch", NULL));
    int content_bytes = atoi(arg(argc, argv, "--content-bytes", "1024"));
    out_path = arg(argc, argv, "--out", NULL);
    char **tasks = read_lines(tasks_path, &p_count);
    if (!p_count || p_port <= 0 || rate_per_task <= 0 || p_batch < 1 || content_bytes < 0) die("bad arguments");

    /* the same text as latency.py had: ("the agent ... code " * 40)[:content_bytes] */
    static const char word[] = "the agent reads the file and writes a test before it changes the code ";
    size_t wl = sizeof word - 1;
    content_len = (size_t)content_bytes < 40 * wl ? (size_t)content_bytes : 40 * wl;
    content = xrealloc(NULL, content_len + 1);
    for (size_t i = 0; i < content_len; i++) content[i] = word[i % wl];

    loop_init();
    posters = calloc(p_count, sizeof *posters);
    if (!posters) die("out of memory");
    double interval = p_batch / rate_per_task;
    double start = now() + 0.2;
    for (int i = 0; i < p_count; i++) {
        struct poster *c = &posters[i];
        c->index = i;
        c->task = tasks[i];
        c->due = start + interval * i / p_count;  /* spread the tasks over the interval */
        p_connect(c);  /* before the start: the first request does not pay for it */
    }
    int tfd = make_timer();
    set_events(tfd, EPOLLIN, NULL, EPOLL_CTL_ADD);
    struct epoll_event evs[256];
    double drain_until = 0;
    for (;;) {
        if (stop && drain_until == 0) drain_until = now() + 5;
        double t = now(), next = 0;
        int busy = 0;
        for (int i = 0; i < p_count; i++) {
            struct poster *c = &posters[i];
            if (!stop && !c->busy && c->due <= t) {
                c->due += interval;  /* a late request goes at once */
                p_send(c);
            }
            if (c->busy) {
                busy++;
            } else if (next == 0 || c->due < next) {
                next = c->due;
            }
        }
        if (stop && (busy == 0 || t >= drain_until)) break;
        arm_timer(tfd, stop ? 0 : next);
        int n = epoll_wait(epfd, evs, 256, 100);
        if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            struct poster *c = evs[i].data.ptr;
            if (!c) {
                uint64_t expirations;
                if (read(tfd, &expirations, sizeof expirations) < 0) { /* spurious: go on */ }
                continue;
            }
            if (c->fd < 0) continue;
            if (evs[i].events & EPOLLOUT || (!c->connected && evs[i].events & (EPOLLERR | EPOLLHUP))) {
                p_writable(c);
                if (c->fd < 0 || !c->connected) continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) p_readable(c);
        }
    }

    FILE *f = open_out("post_times", post_times, n_post_times);
    fputs(", \"failures\": [", f);
    for (int i = 0; i < n_failures; i++) {
        fprintf(f, "%s[%d, ", i ? ", " : "", failures[i].status);
        json_string(f, (unsigned char *)failures[i].body, failures[i].len);
        fputc(']', f);
    }
    fprintf(f, "], \"failure_count\": %ld, \"start\": %.9f}\n", failure_count, start);
    close_out(f);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "watch") == 0) return watch(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "post") == 0) return post(argc, argv);
    fprintf(stderr,
            "usage: latency watch --url ws://HOST:PORT/PATH --token T --issues FILE --tasks FILE\n"
            "                     --first N --count N --ready FILE --out FILE\n"
            "       latency post --port PORT --token T --tasks FILE --rate-per-task R --batch N\n"
            "                    [--content-bytes 1024] --out FILE\n");
    return 2;
}
