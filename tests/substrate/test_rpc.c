/* The JSON-RPC client: against a real Subtensor runtime under chopsticks (spec 143), and against
 * tests/substrate/rpc_server.py for what a real node rarely does (oversized replies, wrong ids, error
 * objects with hostile text, HTTP 503 then success, garbage), plus a port nobody listens on. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "localnet/chopsticks.h"
#include "substrate/rpc.h"
#include "substrate/rpc_reply.h"

/* ---------------------------------------------------------------- against chopsticks */

static json_t *call(tp_rpc *r, const char *method, json_t *params) {
    json_t *res = NULL;
    tp_err err;
    cr_assert_eq(tp_rpc_call(r, method, params, &res, &err), TP_OK, "%s: %s", method, err.msg);
    json_decref(params);
    return res;
}

static int64_t head_number(tp_rpc *r) {
    json_t *h = call(r, "chain_getHeader", NULL);
    uint8_t *b;
    size_t n;
    tp_err err;
    const json_t *parent = json_object_get(h, "parentHash");
    cr_assert_eq(tp_rpc_unhex(parent, 32, &b, &n, "parentHash", &err), TP_OK, "%s", err.msg);
    cr_expect_eq(n, 32, "parentHash has %zu bytes", n);
    free(b);
    const char *num = json_string_value(json_object_get(h, "number"));
    cr_assert(num && !strncmp(num, "0x", 2), "header number is not hex");
    int64_t v = strtoll(num + 2, NULL, 16);
    json_decref(h);
    return v;
}

Test(substrate, rpc_chopsticks) {
    tp_chopsticks_opts o;
    tp_chopsticks_opts_default(&o);
    o.root = getenv("TEMPLAR_ROOT");
    cr_assert(o.root, "TEMPLAR_ROOT is not set (run through make)");
    o.spec = 143;
    tp_chopsticks node;
    tp_err err;
    cr_assert_eq(tp_chopsticks_start(&o, &node, &err), TP_OK, "%s", err.msg);
    tp_rpc *r;
    cr_assert_eq(tp_rpc_open(node.url, NULL, &r, &err), TP_OK, "%s", err.msg);

    json_t *chain = call(r, "system_chain", NULL);
    cr_expect(json_is_string(chain) && json_string_length(chain) > 0, "system_chain is not a name");
    json_decref(chain);
    json_t *v = call(r, "state_getRuntimeVersion", NULL);
    cr_expect_eq(json_integer_value(json_object_get(v, "specVersion")), 143);
    cr_expect_str_eq(json_string_value(json_object_get(v, "specName")), "node-subtensor");
    json_decref(v);
    int64_t before = head_number(r);
    json_decref(call(r, "dev_newBlock", json_pack("[{s:i}]", "count", 1)));
    cr_expect_eq(head_number(r), before + 1, "dev_newBlock did not add exactly one block");

    tp_rpc_stats s;
    tp_rpc_stats_get(r, &s);
    cr_expect_eq(s.calls, 5, "5 calls, no retries: %lld", (long long)s.calls);
    cr_expect_gt(s.bytes_sent, 5 * 40); /* every request is a JSON-RPC object of 40+ bytes */
    cr_expect_gt(s.bytes_received, 5 * 30);
    cr_expect_gt(s.seconds, 0);
    const char *msg;
    cr_expect_eq(tp_rpc_last_error(r, &msg), 0);
    cr_expect_str_empty(msg);

    json_t *res = NULL;
    cr_expect_eq(tp_rpc_call(r, "no_such_method", NULL, &res, &err), TP_ERR_IO);
    cr_expect_not(err.retryable);
    /* chopsticks' HTTP server sends an error object with a message and no code. */
    cr_expect_eq(tp_rpc_last_error(r, &msg), TP_RPC_NO_CODE, "%s", err.msg);
    cr_expect(strstr(err.msg, "RPC no_such_method: error: Method not found"), "%s", err.msg);
    cr_expect_null(res);
    tp_rpc_stats_reset(r);
    tp_rpc_stats_get(r, &s);
    cr_expect(s.calls == 0 && s.bytes_sent == 0 && s.bytes_received == 0 && s.seconds == 0);
    tp_rpc_close(r);
    tp_chopsticks_stop(&node);
}

/* ---------------------------------------------------------------- against the misbehaving server */

typedef struct {
    pid_t pid;
    char url[64];
} server;

static void server_start(server *s) {
    const char *root = getenv("TEMPLAR_ROOT");
    char script[4096];
    snprintf(script, sizeof script, "%s/tests/substrate/rpc_server.py", root ? root : ".");
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t parent = getpid();
    s->pid = fork();
    cr_assert(s->pid >= 0, "fork failed");
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        dup2(fds[1], 1);
        close(fds[0]);
        execl("/usr/bin/python3", "python3", script, "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    /* It prints its port once it accepts connections: no polling. */
    FILE *f = fdopen(fds[0], "r");
    int port = 0;
    cr_assert(f && fscanf(f, "listening %d", &port) == 1, "%s did not start", script);
    fclose(f);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d/rpc", port);
}

static void server_stop(server *s) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
}

static tp_rpc *open_fast(const char *url, int retries, size_t max_reply) {
    tp_rpc_opts o;
    tp_rpc_opts_default(&o);
    o.retries = retries;
    o.backoff_s = 0.01;
    if (max_reply) o.max_reply = max_reply;
    tp_rpc *r;
    tp_err err;
    cr_assert_eq(tp_rpc_open(url, &o, &r, &err), TP_OK, "%s", err.msg);
    return r;
}

/* Calls method and expects code; err gets the error. */
static void expect_fail(tp_rpc *r, const char *method, json_t *params, tp_status code, const char *needle, tp_err *err) {
    json_t *res = (json_t *)1;
    cr_expect_eq(tp_rpc_call(r, method, params, &res, err), code, "%s: %s", method, err->msg);
    cr_expect_null(res, "%s: a result despite the error", method);
    cr_expect(strstr(err->msg, needle), "%s: expected '%s' in: %s", method, needle, err->msg);
    json_decref(params);
}

Test(substrate, rpc_results_and_limits) {
    server s;
    server_start(&s);
    tp_rpc *r = open_fast(s.url, 4, 4096);
    json_t *res = NULL;
    tp_err err;
    json_t *params = json_pack("[s, i, {s:b}, n]", "a", 7, "x", 1);
    cr_assert_eq(tp_rpc_call(r, "echo", params, &res, &err), TP_OK, "%s", err.msg);
    cr_expect(json_equal(res, params), "echo changed the params");
    json_decref(res);
    json_decref(params);
    cr_assert_eq(tp_rpc_call(r, "null", NULL, &res, &err), TP_OK, "%s", err.msg);
    cr_expect(json_is_null(res), "null is a valid result");
    json_decref(res);

    json_t *big = json_pack("[i]", 4090); /* the reply is that plus its envelope: above 4096 */
    expect_fail(r, "big", json_incref(big), TP_ERR_FORMAT, "larger than the limit of 4096 bytes", &err);
    expect_fail(r, "big_chunked", json_incref(big), TP_ERR_FORMAT, "larger than the limit of 4096 bytes", &err);
    cr_expect_not(err.retryable);
    json_decref(big);
    json_decref(call(r, "big", json_pack("[i]", 3000))); /* under the limit */
    expect_fail(r, "wrong_id", NULL, TP_ERR_FORMAT, "RPC wrong_id: the reply is for request", &err);
    expect_fail(r, "garbage", NULL, TP_ERR_FORMAT, "RPC garbage reply: invalid JSON", &err);
    expect_fail(r, "status", json_pack("[i]", 404), TP_ERR_IO, "HTTP 404: status 404?", &err);
    cr_expect_not(err.retryable, "a 404 would not change: %s", err.msg);
    cr_expect_null(strchr(err.msg, 0x1b), "the body's escape character reached the message");
    expect_fail(r, "echo", json_pack("{}"), TP_ERR_ARG, "params must be a JSON array", &err);
    expect_fail(r, "bad method", NULL, TP_ERR_ARG, "space or control", &err);
    tp_rpc_close(r);
    server_stop(&s);
}

Test(substrate, rpc_error_object) {
    server s;
    server_start(&s);
    tp_rpc *r = open_fast(s.url, 4, 0);
    tp_err err;
    /* The server's text is hostile: an escape sequence, a newline, a NUL-free but long data string. */
    char data[2000];
    memset(data, 'd', sizeof data - 1);
    data[sizeof data - 1] = 0;
    memcpy(data, "Inability to pay some fees\x1b[2J\n", 31);
    expect_fail(r, "fail", json_pack("[i, s, s]", 1010, "Invalid Transaction", data), TP_ERR_IO,
                "RPC fail: error 1010: Invalid Transaction: Inability to pay some fees?[2J ddd", &err);
    cr_expect_not(err.retryable, "an error object is permanent");
    cr_expect_lt(strlen(err.msg), 700, "the server's text was not capped: %zu bytes", strlen(err.msg));
    const char *msg;
    cr_expect_eq(tp_rpc_last_error(r, &msg), 1010);
    const char *want = "Invalid Transaction: Inability to pay some fees?[2J ddd";
    cr_expect(!strncmp(msg, want, strlen(want)), "kept: %s", msg);
    cr_expect_lt(strlen(msg), TP_RPC_MSG_MAX);
    for (const char *p = msg; *p; p++) cr_assert(*p >= 0x20 && *p < 0x7f, "unprintable byte in the kept message");
    tp_rpc_stats st;
    tp_rpc_stats_get(r, &st);
    cr_expect_eq(st.calls, 1, "an error object was retried");
    json_t *res;
    cr_assert_eq(tp_rpc_call(r, "null", NULL, &res, &err), TP_OK, "%s", err.msg);
    cr_expect_eq(tp_rpc_last_error(r, &msg), 0, "a good call clears the last error");
    cr_expect_str_empty(msg);
    json_decref(res);
    tp_rpc_close(r);
    server_stop(&s);
}

Test(substrate, rpc_retries) {
    server s;
    server_start(&s);
    tp_rpc *r = open_fast(s.url, 4, 0);
    tp_err err;
    json_t *res = call(r, "flaky", json_pack("[s, i]", "a", 2));
    cr_expect_eq(json_integer_value(res), 3, "the server saw %lld attempts", (long long)json_integer_value(res));
    json_decref(res);
    tp_rpc_stats st;
    tp_rpc_stats_get(r, &st);
    cr_expect_eq(st.calls, 3);
    /* More 503s than retries: transient, after 1 + 4 attempts. */
    expect_fail(r, "flaky", json_pack("[s, i]", "b", 10), TP_ERR_IO, "HTTP 503: busy, come back later (after 5 attempts)",
                &err);
    cr_expect(err.retryable, "%s", err.msg);
    expect_fail(r, "status", json_pack("[i]", 429), TP_ERR_IO, "HTTP 429", &err);
    cr_expect(err.retryable, "%s", err.msg);
    tp_rpc_close(r);
    server_stop(&s);
}

/* A loopback port with nothing behind it: bound, then closed. */
static int dead_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
    socklen_t len = sizeof a;
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

Test(substrate, rpc_connection_refused) {
    char url[64];
    snprintf(url, sizeof url, "http://user:secret@127.0.0.1:%d/path?apikey=hidden", dead_port());
    tp_rpc *r = open_fast(url, 2, 0);
    tp_err err;
    expect_fail(r, "system_chain", NULL, TP_ERR_IO, "(after 3 attempts)", &err);
    cr_expect(err.retryable, "a refused connection is transient: %s", err.msg);
    cr_expect(strstr(err.msg, "RPC system_chain at http://127.0.0.1:"), "%s", err.msg);
    cr_expect_null(strstr(err.msg, "secret"), "the URL's password reached the message: %s", err.msg);
    cr_expect_null(strstr(err.msg, "hidden"), "the URL's query reached the message: %s", err.msg);
    tp_rpc_stats st;
    tp_rpc_stats_get(r, &st);
    cr_expect_eq(st.calls, 3);
    cr_expect_eq(st.bytes_received, 0);
    tp_rpc_close(r);
}

Test(substrate, rpc_open_refusals) {
    tp_rpc *r;
    tp_err err;
    const char *bad[] = {"ftp://127.0.0.1:1", "127.0.0.1:9944", "http://", "http://a b", "http://x\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect_eq(tp_rpc_open(bad[i], NULL, &r, &err), TP_ERR_ARG, "'%s' accepted", bad[i]);
    tp_rpc_opts o;
    tp_rpc_opts_default(&o);
    o.retries = -1;
    cr_expect_eq(tp_rpc_open("http://127.0.0.1:1", &o, &r, &err), TP_ERR_ARG);
    cr_expect(strstr(err.msg, "retries"), "%s", err.msg);
    tp_rpc_opts_default(&o);
    o.timeout_s = 0;
    cr_expect_eq(tp_rpc_open("http://127.0.0.1:1", &o, &r, &err), TP_ERR_ARG);
    cr_expect(strstr(err.msg, "timeout"), "%s", err.msg);
}

/* ---------------------------------------------------------------- reply parsing and hex values */

static tp_status parse(const char *body, json_t **res, int64_t *code, char *msg, tp_err *err) {
    return tp_rpc_parse_reply(body, strlen(body), 7, "m", res, code, msg, 128, err);
}

Test(substrate, rpc_parse_reply) {
    json_t *res;
    int64_t code;
    char msg[128];
    tp_err err;
    cr_assert_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":[1]}", &res, &code, msg, &err), TP_OK, "%s", err.msg);
    cr_expect(json_is_array(res));
    json_decref(res);
    /* An error for a request the server could not read carries id null. */
    cr_expect_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}", &res,
                       &code, msg, &err),
                 TP_ERR_IO);
    cr_expect_eq(code, -32700);
    cr_expect_str_eq(msg, "Parse error");
    const struct {
        const char *body, *needle;
    } bad[] = {
        {"[]", "not a JSON object"},
        {"{\"jsonrpc\":\"2.0\",\"id\":7}", "neither a result nor an error"},
        {"{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":1,\"error\":{\"code\":1}}", "both a result and an error"},
        {"{\"jsonrpc\":\"1.0\",\"id\":7,\"result\":1}", "not JSON-RPC 2.0"},
        {"{\"id\":7,\"result\":1}", "not JSON-RPC 2.0"},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":1}", "non-integer id"},
        {"{\"jsonrpc\":\"2.0\",\"id\":\"7\",\"result\":1}", "non-integer id"},
        {"{\"jsonrpc\":\"2.0\",\"result\":1}", "no id"},
        {"{\"jsonrpc\":\"2.0\",\"id\":7.0,\"result\":1}", "non-integer id"},
        {"{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":\"bad\"}", "not an object with an integer code"},
        {"{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":\"1\"}}", "not an object with an integer code"},
        {"{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":1,\"message\":2}}", "and a message"},
        {"{\"jsonrpc\":\"2.0\",\"id\":7,\"id\":7,\"result\":1}", "invalid JSON"},
        {"{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":\"\x01\"}", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        res = (json_t *)1;
        cr_expect_eq(parse(bad[i].body, &res, &code, msg, &err), TP_ERR_FORMAT, "accepted: %s", bad[i].body);
        cr_expect(strstr(err.msg, bad[i].needle), "%s: expected '%s' in: %s", bad[i].body, bad[i].needle, err.msg);
        cr_expect_null(res);
        for (const char *p = err.msg; *p; p++) cr_assert((unsigned char)*p >= 0x20, "control character in: %s", err.msg);
    }
    /* Non-string data is kept as compact JSON; a code of 0 still reads as an error. */
    cr_expect_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":0,\"message\":\"m\\u00e9\\n\",\"data\":{\"a\":1}}}",
                       &res, &code, msg, &err),
                 TP_ERR_IO);
    cr_expect_eq(code, TP_RPC_NO_CODE);
    cr_expect_str_eq(msg, "m? : {\"a\":1}");
    cr_expect_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"message\":\"no code\"}}", &res, &code, msg, &err),
                 TP_ERR_IO);
    cr_expect_eq(code, TP_RPC_NO_CODE);
    cr_expect_str_eq(err.msg, "RPC m: error: no code");
}

Test(substrate, rpc_hex) {
    tp_err err;
    uint8_t *b;
    size_t n;
    json_t *v = json_string("0x00ffAb");
    cr_assert_eq(tp_rpc_unhex(v, 3, &b, &n, "v", &err), TP_OK, "%s", err.msg);
    cr_expect(n == 3 && b[0] == 0 && b[1] == 0xff && b[2] == 0xab);
    json_t *h = tp_rpc_hex(b, n);
    cr_expect_str_eq(json_string_value(h), "0x00ffab");
    json_decref(h);
    free(b);
    json_decref(v);
    v = json_string("0x");
    cr_assert_eq(tp_rpc_unhex(v, 0, &b, &n, "v", &err), TP_OK, "%s", err.msg);
    cr_expect_eq(n, 0);
    free(b);
    json_decref(v);
    const struct {
        json_t *v;
        const char *needle;
    } bad[] = {
        {json_string("00ff"), "0x-prefixed"}, {json_string("0X00"), "0x-prefixed"}, {json_integer(1), "0x-prefixed"},
        {json_null(), "0x-prefixed"},        {json_string("0x0"), "odd number"},    {json_string("0x0g"), "not a hex digit at position 3"},
        {json_string("0x00112233"), "4 bytes, more than the limit of 3"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        b = (uint8_t *)1;
        cr_expect_eq(tp_rpc_unhex(bad[i].v, 3, &b, &n, "what", &err), TP_ERR_FORMAT, "case %zu accepted", i);
        cr_expect(strstr(err.msg, bad[i].needle) && !strncmp(err.msg, "what: ", 6), "case %zu: %s", i, err.msg);
        cr_expect_null(b);
        json_decref(bad[i].v);
    }
}
