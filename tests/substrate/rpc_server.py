#!/usr/bin/env python3
"""A JSON-RPC 2.0 server that misbehaves on request, for tests/substrate/test_rpc.c.

It checks every request (POST, Content-Type application/json, a JSON-RPC 2.0 object with an integer
id) and answers by method name:
  echo [x…]            result: the params
  null                 result: null
  fail [code, msg, data]  an error object with that code, message and data
  big [n]              result: a string of n bytes, with Content-Length
  big_chunked [n]      the same, chunked (no Content-Length)
  wrong_id             the reply names request id + 1
  garbage              a body that is not JSON
  flaky [key, k]       HTTP 503 for the first k requests with that key, then result: attempts so far
  status [code]        HTTP code with a short text body
  count                result: requests seen so far (all methods)
Anything else is the JSON-RPC error -32601. Prints "listening PORT" once it accepts connections.

usage: rpc_server.py PORT   (0: pick a free one)
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
attempts = {}  # flaky key -> requests seen
seen = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body, chunked=False, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 65536):
                part = body[i:i + 65536]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def reply(self, rid, result=None, error=None, chunked=False):
        msg = {"jsonrpc": "2.0", "id": rid}
        if error is not None:
            msg["error"] = error
        else:
            msg["result"] = result
        self.send(200, json.dumps(msg).encode(), chunked)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            seen[0] += 1
        if self.headers.get("Content-Type") != "application/json":
            return self.send(415, b"want application/json", ctype="text/plain")
        try:
            req = json.loads(body)
            assert req["jsonrpc"] == "2.0" and isinstance(req["id"], int) and isinstance(req["params"], list)
            method, params, rid = req["method"], req["params"], req["id"]
        except (ValueError, KeyError, AssertionError, TypeError):
            return self.reply(None, error={"code": -32600, "message": "Invalid request"})
        if method == "echo":
            return self.reply(rid, params)
        if method == "null":
            return self.reply(rid, None)
        if method == "fail":
            return self.reply(rid, error={"code": params[0], "message": params[1], "data": params[2]})
        if method in ("big", "big_chunked"):
            return self.reply(rid, "x" * params[0], chunked=method == "big_chunked")
        if method == "wrong_id":
            return self.reply(rid + 1, "wrong")
        if method == "garbage":
            return self.send(200, b"<html>not json</html>")
        if method == "flaky":
            with lock:
                n = attempts[params[0]] = attempts.get(params[0], 0) + 1
            if n <= params[1]:
                return self.send(503, b"busy, come back later", ctype="text/plain")
            return self.reply(rid, n)
        if method == "status":
            return self.send(params[0], b"status %d\x1b[31m" % params[0], ctype="text/plain")
        if method == "count":
            with lock:
                return self.reply(rid, seen[0])
        return self.reply(rid, error={"code": -32601, "message": "Method not found"})


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print("listening", server.server_address[1], flush=True)
server.serve_forever()
