#!/usr/bin/env python3
"""A tiny S3 stand-in that checks AWS Signature Version 4 on every request.

s3rver accepts any SigV4 signature (it only checks the access key id), so the store tests run
their requests through this as well: it recomputes the signature from the request exactly as S3
does (canonical URI as sent, query parameters sorted and re-encoded, signed headers, the
x-amz-content-sha256 value as the payload hash) and answers 403 SignatureDoesNotMatch when it
differs, or when a signed body hash does not match the body. Otherwise it answers like S3:
PUT stores in memory, GET/HEAD serve, list-type=2 lists, DELETE removes.

usage: sigv4_server.py PORT ACCESS_KEY SECRET_KEY [SESSION_TOKEN]
"""
import hashlib
import hmac
import sys
import time
import urllib.parse
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, ACCESS, SECRET = int(sys.argv[1]), sys.argv[2], sys.argv[3]
TOKEN = sys.argv[4] if len(sys.argv) > 4 else None
objects = {}  # (bucket, key) -> (bytes, mtime); one request per thread, dict ops are atomic


def hmac256(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def enc(s):
    return urllib.parse.quote(s, safe="-_.~")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, s3code, msg):
        body = f'<?xml version="1.0"?><Error><Code>{s3code}</Code><Message>{msg}</Message></Error>'.encode()
        self.reply(code, body, [("Content-Type", "application/xml")])

    def check_signature(self, body):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return "no SigV4 Authorization header"
        parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        cred = parts["Credential"].split("/")
        if cred[0] != ACCESS:
            return "unknown access key"
        signed = parts["SignedHeaders"].split(";")
        for required in ("host", "x-amz-date", "x-amz-content-sha256"):
            if required not in signed:
                return f"{required} not signed"
        if TOKEN is not None and (self.headers.get("x-amz-security-token") != TOKEN or "x-amz-security-token" not in signed):
            return "session token missing or unsigned"
        path, _, query = self.path.partition("?")
        pairs = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
        canon_query = "&".join(enc(k) + "=" + enc(v) for k, v in pairs)
        canon_headers = "".join(f"{h}:{' '.join(self.headers[h].strip().split())}\n" for h in signed)
        payload = self.headers["x-amz-content-sha256"]
        if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(body).hexdigest():
            return "body does not match x-amz-content-sha256"
        creq = "\n".join([self.command, path, canon_query, canon_headers, ";".join(signed), payload])
        sts = "\n".join(["AWS4-HMAC-SHA256", self.headers["x-amz-date"], "/".join(cred[1:]),
                         hashlib.sha256(creq.encode()).hexdigest()])
        key = hmac256(hmac256(hmac256(hmac256(("AWS4" + SECRET).encode(), cred[1]), cred[2]), cred[3]), cred[4])
        if hmac.new(key, sts.encode(), hashlib.sha256).hexdigest() != parts["Signature"]:
            return "signature mismatch"
        return None

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        why = self.check_signature(body)
        if why:
            sys.stderr.write(f"sigv4_server: rejected {self.command} {self.path}: {why}\n")
            return self.error(403, "SignatureDoesNotMatch", why)
        path, _, query = self.path.partition("?")
        bucket, _, key = urllib.parse.unquote(path[1:]).partition("/")
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        if self.command == "PUT":
            objects[(bucket, key)] = (body, time.time())
            return self.reply(200, b"", [("ETag", '"x"')])
        if self.command == "DELETE":
            objects.pop((bucket, key), None)
            return self.reply(204)
        if not key and q.get("list-type") == "2":
            prefix = q.get("prefix", "")
            items = sorted((k, v) for (b, k), v in objects.items() if b == bucket and k.startswith(prefix))
            xml = "".join(
                f"<Contents><Key>{k.replace('&', '&amp;').replace('<', '&lt;')}</Key>"
                f"<LastModified>{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t))}.000Z</LastModified>"
                f"<Size>{len(d)}</Size></Contents>" for k, (d, t) in items)
            doc = f'<?xml version="1.0"?><ListBucketResult><IsTruncated>false</IsTruncated>{xml}</ListBucketResult>'
            return self.reply(200, doc.encode(), [("Content-Type", "application/xml")])
        if (bucket, key) not in objects:
            return self.error(404, "NoSuchKey", "The specified key does not exist.")
        data, t = objects[(bucket, key)]
        return self.reply(200, data, [("Last-Modified", formatdate(t, usegmt=True))])

    do_GET = do_PUT = do_HEAD = do_DELETE = handle_any

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
