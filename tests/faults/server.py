#!/usr/bin/env python3
"""A hostile HTTP/1.1 server on loopback, for the client's fault tests.

    server.py --log FILE [--tls CERT KEY]
    server.py --log FILE [--tls CERT KEY] --upstream PORT [--seed N --rate P]

The fault is chosen by the function name of the invocation path
(/2023-03-30/functions/NAME/invocations), or by the last path segment of
any other path, so a test picks a fault by invoking a function of that name:
`fcrun invoke close_no_reply`. Every request the server reads completely is
one line in the log, "REQ NAME CONN SEQ BODYLEN", written and flushed before
the server answers, so a test counts what reached the server with grep -c.
The first line on stdout is "listening on http(s)://127.0.0.1:PORT".
Stops by itself after --lifetime seconds (default 600).

The faults (FAULTS below) are the rows of docs/FAULTS.md.

With --upstream, it is a proxy in front of 127.0.0.1:PORT (fcrun serve)
instead: each request is forwarded on a keep-alive connection of its own,
and with --rate P a seeded random fault (PROXY_FAULTS) replaces a fraction P
of them; each request is one line "PROXY FAULT STATUS" in the log (STATUS:
what upstream answered, 0 when the request was not forwarded). With --tls
and no --rate it is a TLS front for the emulator.
"""
import argparse
import json
import os
import random
import socket
import ssl
import struct
import sys
import threading
import time

LOG_LOCK = threading.Lock()
LOG = None
STATS = {"connections": 0, "tls_resumed": 0}


def log(line):
    with LOG_LOCK:
        LOG.write(line + "\n")
        LOG.flush()


class Conn:
    def __init__(self, sock, cid):
        self.sock = sock
        self.cid = cid
        self.buf = b""
        self.seq = 0

    def read_request(self):
        """Returns (method, path, headers, body) or None when the peer closed."""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        body, self.buf = self.buf[:n], self.buf[n:]
        self.seq += 1
        self.raw = head + b"\r\n\r\n" + body
        return method, path, headers, body

    def send(self, data):
        self.sock.sendall(data)

    def reset(self):
        """Closes with a TCP RST instead of a FIN."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.sock.close()


def response(status, body=b"", headers=None, reason="X"):
    h = {"Content-Type": "application/json", "Content-Length": str(len(body)),
         "x-fc-request-id": "1-fault-0001"}
    h.update(headers or {})
    head = "HTTP/1.1 %d %s\r\n" % (status, reason)
    head += "".join("%s: %s\r\n" % (k, v) for k, v in h.items() if v is not None)
    return head.encode("latin-1") + b"\r\n" + body


def fc_error(status, code, message):
    return response(status, json.dumps({"Code": code, "Message": message,
                                        "RequestId": "1-fault-err"}).encode())


def ok(c, body=b'{"ok":true}', **kw):
    c.send(response(200, body, **kw))
    return True  # keep the connection


# Each fault: fn(conn, method, path, headers, body) -> True to keep the
# connection for another request, False to close it (FIN).
def f_reset_before_status(c, *_):
    c.reset()
    return None


def f_close_no_reply(c, *_):
    return False


def f_reset_mid_body(c, *_):
    c.send(response(200, b"x" * 100, {"Content-Length": "1000"}))
    time.sleep(0.05)
    c.reset()
    return None


def f_headers_cut(c, *_):
    c.send(b"HTTP/1.1 200 OK\r\nContent-Ty")
    return False


def f_headers_never(c, *_):
    time.sleep(30)
    return False


def f_body_stall(c, *_):
    c.send(response(200, b"0123456789", {"Content-Length": "100"}))
    time.sleep(30)
    return False


def f_truncated_body(c, *_):
    c.send(response(200, b"y" * 50, {"Content-Length": "100"}))
    return False


def f_bad_chunking(c, *_):
    c.send(response(200, b"5\r\nhello\r\nzz\r\nnot hex\r\n",
                    {"Content-Length": None, "Transfer-Encoding": "chunked"}))
    return False


def status_fault(status, kind):
    bodies = {
        "json": lambda: json.dumps({"Code": "Fault%d" % status, "Message": "injected %d" % status,
                                    "RequestId": "1-fault-err"}).encode(),
        "html": lambda: b"<html><body><h1>%d Bad Gateway</h1></body></html>" % status,
        "empty": lambda: b"",
        "null": lambda: b'{"Code": null, "Message": null, "RequestId": null}',
        "types": lambda: b'{"Code": 12, "Message": {"a": 1}, "RequestId": [1]}',
        "huge": lambda: json.dumps({"Code": "Huge", "Message": "m" * (4 << 20)}).encode(),
    }

    def f(c, *_):
        ct = "text/html" if kind == "html" else "application/json"
        c.send(response(status, bodies[kind](), {"Content-Type": ct}))
        return True
    return f


def f_retry_after(c, *_):
    c.send(response(429, json.dumps({"Code": "ResourceThrottled", "Message": "slow down"}).encode(),
                    {"Retry-After": "2"}))
    return True


def f_log_oversized(c, *_):  # under curl's 100 KB line limit, over ours (64 KB)
    return ok(c, headers={"x-fc-log-result": "QUFB" * (70 << 10 >> 2)})


def f_log_not_base64(c, *_):
    return ok(c, headers={"x-fc-log-result": "!!not base64!!"})


def f_header_line_100k(c, *_):  # a single line past curl's 100 KB limit
    return ok(c, headers={"x-big": "h" * (101 << 10)})


def f_headers_over(c, *_):  # many lines, together over 64 KB
    return ok(c, headers={"x-h%d" % i: "v" * 1000 for i in range(80)})


def f_body_over(c, method, path, headers, body):
    n = int(body or b"0") if body.isdigit() else 1 << 20
    c.send(response(200, b"b" * n))
    return True


def f_redirect(c, *_):
    c.send(response(302, b"", {"Location": "http://127.0.0.1:9/elsewhere"}))
    return True


def f_no_content(c, *_):
    c.send(b"HTTP/1.1 204 No Content\r\nx-fc-request-id: 1-fault-204\r\n\r\n")
    return True


def f_interim_100(c, *_):
    c.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    return ok(c)


def f_slow(c, *_):  # 3 body bytes at 1 byte/s
    c.send(response(200, b"", {"Content-Length": "3", "Content-Type": "text/plain"}))
    for b in b"abc":
        time.sleep(1)
        c.send(bytes([b]))
    return True


def f_idle_close(c, *_):  # answers, then closes the idle connection soon after
    ok(c)
    time.sleep(0.2)
    return False


def f_replay(c, *_):
    """Answers the first request of each connection (slowly, so that a burst
    of calls opens many connections), and closes on the second unanswered:
    a reused connection that dies after the request was written."""
    if c.seq == 1:
        time.sleep(0.3)
        return ok(c)
    return False


def f_ok_close(c, *_):  # answers and closes: the next call needs a new connection
    ok(c, headers={"Connection": "close"})
    return False


def f_ok(c, method, path, headers, body):
    return ok(c, body=body, headers={"Content-Type": "application/octet-stream"})


def f_sleep(c, *_):  # a slow but good answer
    time.sleep(0.3)
    return ok(c)


FAULTS = {
    "ok": f_ok, "sleep": f_sleep,
    "reset_before_status": f_reset_before_status, "close_no_reply": f_close_no_reply,
    "reset_mid_body": f_reset_mid_body, "headers_cut": f_headers_cut,
    "headers_never": f_headers_never, "body_stall": f_body_stall,
    "truncated_body": f_truncated_body, "bad_chunking": f_bad_chunking,
    "retry_after": f_retry_after, "log_oversized": f_log_oversized,
    "log_not_base64": f_log_not_base64, "header_line_100k": f_header_line_100k,
    "headers_over": f_headers_over, "body_over": f_body_over, "redirect": f_redirect,
    "no_content": f_no_content, "interim_100": f_interim_100, "slow": f_slow,
    "idle_close": f_idle_close, "replay": f_replay, "ok_close": f_ok_close,
}
for st in (500, 502, 503, 504, 429):
    for kind in ("json", "html", "empty", "null", "types"):
        FAULTS["s%d_%s" % (st, kind)] = status_fault(st, kind)
FAULTS["s500_huge"] = status_fault(500, "huge")


def fault_name(path):
    p = path.split("?", 1)[0].rstrip("/").split("/")
    if "functions" in p and p.index("functions") + 1 < len(p):
        return p[p.index("functions") + 1]
    return p[-1] if p else ""


def serve(sock, cid, tls):
    try:
        if tls:
            sock = tls.wrap_socket(sock, server_side=True)
            if sock.session_reused:
                with LOG_LOCK:
                    STATS["tls_resumed"] += 1
                log("TLS-RESUMED %d" % cid)
        c = Conn(sock, cid)
        while True:
            req = c.read_request()
            if req is None:
                break
            method, path, headers, body = req
            name = fault_name(path)
            log("REQ %s %d %d %d" % (name, cid, c.seq, len(body)))
            keep = FAULTS.get(name, f_ok)(c, method, path, headers, body)
            if keep is None:
                return
            if not keep:
                break
    except (OSError, ssl.SSLError, ValueError) as e:
        log("ERR %d %s" % (cid, type(e).__name__))
    try:
        sock.close()
    except OSError:
        pass


def read_response(sock):
    """One HTTP/1.1 response from upstream (Content-Length framed), raw."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("upstream closed")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = 0
    for l in head.decode("latin-1").split("\r\n")[1:]:
        k, _, v = l.partition(":")
        if k.strip().lower() == "content-length":
            n = int(v)
    body = bytearray(rest)
    while len(body) < n:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise OSError("upstream closed")
        body += chunk
    return int(head.split(b" ", 2)[1]), head + b"\r\n\r\n" + bytes(body[:n])


# Proxy faults: (name, forwarded?). The request reaches the function only
# when forwarded; the client then gets no complete answer for the first two.
PROXY_FAULTS = [("lost_reply", True), ("cut_reply", True), ("drop", False), ("reset", False),
                ("s503", False), ("slow", True)]
RNG_LOCK = threading.Lock()


def proxy(sock, cid, tls, upstream, rng, rate):
    up = None
    try:
        if tls:
            sock = tls.wrap_socket(sock, server_side=True)
        c = Conn(sock, cid)
        while True:
            if c.read_request() is None:
                break
            with RNG_LOCK:
                fault = rng.choice(PROXY_FAULTS) if rate and rng.random() < rate else ("pass", True)
            name, forward = fault
            status, answer = 0, None
            if forward:
                if up is None:
                    up = socket.create_connection(("127.0.0.1", upstream))
                up.sendall(c.raw)
                status, answer = read_response(up)
            log("PROXY %s %d" % (name, status))
            if name == "lost_reply" or name == "drop":
                break
            if name == "reset":
                c.reset()
                return
            if name == "cut_reply":
                c.send(answer[:len(answer) // 2])
                c.reset()
                return
            if name == "s503":
                answer = fc_error(503, "ServiceUnavailable", "injected by the fault proxy")
            if name == "slow":
                time.sleep(0.02)
            c.send(answer)
    except (OSError, ssl.SSLError, ValueError) as e:
        log("ERR %d %s" % (cid, type(e).__name__))
    for s_ in (sock, up):
        try:
            if s_:
                s_.close()
        except OSError:
            pass


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--lifetime", type=float, default=600)
    ap.add_argument("--upstream", type=int, help="proxy to 127.0.0.1:PORT")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=0.0, help="fraction of requests given a fault")
    a = ap.parse_args()
    LOG = open(a.log, "a")
    tls = None
    if a.tls:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(a.tls[0], a.tls[1])
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(256)
    print("listening on %s://127.0.0.1:%d" % ("https" if tls else "http", lsock.getsockname()[1]),
          flush=True)
    threading.Timer(a.lifetime, lambda: os._exit(0)).start()
    rng = random.Random(a.seed)
    cid = 0
    while True:
        s, _ = lsock.accept()
        cid += 1
        log("CONN %d" % cid)
        if a.upstream:
            threading.Thread(target=proxy, args=(s, cid, tls, a.upstream, rng, a.rate),
                             daemon=True).start()
        else:
            threading.Thread(target=serve, args=(s, cid, tls), daemon=True).start()


if __name__ == "__main__":
    main()
