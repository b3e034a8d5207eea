#!/usr/bin/python3
"""A read-only imitation of a registry's /v2/ pull API for berth's tests.

usage: fake-registry.py ROOT [--ready-file F] [--log F] [--port N]

Serves what docker-registry 2.8 cannot: it refuses to store or serve a
manifest over 4 MiB ("http: request body too large" on PUT, "storage: read
exceeds limit" on GET), so the huge-manifest hostile image lives here.
Serves every image directory of build_hostile_images (tests/lib/
mkhostile.py), re-read on each request, so a test may add its own:

  ROOT/NAME/manifest        GET /v2/NAME/manifests/latest (or by its digest)
  ROOT/NAME/manifest.type   its Content-Type
  ROOT/NAME/blobs/HEX       GET /v2/NAME/blobs/sha256:HEX; also served as a
                            manifest by digest (Content-Type from its
                            "mediaType"), for indexes' child manifests
  ROOT/NAME/replace/HEX     served instead of blobs/HEX (wrong content)
  ROOT/NAME/delete/HEX      blob answers 404

NAME may contain slashes (ROOT/a/b/manifest is a/b).  HEAD works like GET
without a body.  No auth, no push.  Each request is logged as a JSON line
(method, path, Accept, Authorization present, status) to --log.
"""

import argparse
import hashlib
import json
import os
import re
import stat
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATH_RE = re.compile(r"^/v2/(?P<name>[a-z0-9._/-]+)/(?P<kind>manifests|blobs)/"
                     r"(?P<ref>[A-Za-z0-9_.:-]+)$")
HEX_RE = re.compile(r"^sha256:([0-9a-f]{64})$")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, args):
        super().__init__(("127.0.0.1", args.port), Handler)
        self.root = os.path.realpath(args.root)
        self.log_path = args.log
        self.lock = threading.Lock()

    def log_json(self, entry):
        if self.log_path:
            with self.lock, open(self.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")

    def image_dir(self, name):
        d = os.path.realpath(os.path.join(self.root, name))
        if not d.startswith(self.root + os.sep) or not os.path.isdir(d):
            return None
        return d


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


class Handler(BaseHTTPRequestHandler):
    server_version = "berth-test-fake-registry/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        sys.stderr.write("fake-registry: " + (format % args) + "\n")

    def send(self, code, body, ctype, extra=None, head=False):
        self.server.log_json({"method": self.command, "path": self.path,
                              "accept": self.headers.get("Accept"),
                              "authorization": "Authorization" in self.headers,
                              "status": code})
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def error(self, code, errcode, message, head):
        body = json.dumps({"errors": [{"code": errcode,
                                       "message": message}]}).encode()
        self.send(code, body, "application/json", head=head)

    def manifest(self, d, ref, head):
        top = read(os.path.join(d, "manifest"))
        ctype = (read(os.path.join(d, "manifest.type")) or b"").decode().strip()
        body = None
        if top is not None and ref in ("latest",
                                       "sha256:" + hashlib.sha256(top).hexdigest()):
            body = top
        else:
            m = HEX_RE.match(ref)
            if m:
                body = read(os.path.join(d, "blobs", m.group(1)))
                try:
                    ctype = json.loads(body)["mediaType"] if body else ctype
                except (ValueError, KeyError, TypeError):
                    body = None
        if body is None:
            self.error(404, "MANIFEST_UNKNOWN", "manifest unknown", head)
            return
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        self.send(200, body, ctype, {"Docker-Content-Digest": digest}, head)

    def blob(self, d, ref, head):
        m = HEX_RE.match(ref)
        if not m:
            self.error(400, "DIGEST_INVALID", "bad digest", head)
            return
        hexd = m.group(1)
        body = None
        if not os.path.exists(os.path.join(d, "delete", hexd)):
            body = read(os.path.join(d, "replace", hexd))
            if body is None:
                body = read(os.path.join(d, "blobs", hexd))
        if body is None:
            self.error(404, "BLOB_UNKNOWN", "blob unknown to registry", head)
            return
        self.send(200, body, "application/octet-stream",
                  {"Docker-Content-Digest": ref}, head)

    def handle_get(self, head):
        path = self.path.split("?", 1)[0]
        if path in ("/v2", "/v2/"):
            self.send(200, b"{}", "application/json", head=head)
            return
        m = PATH_RE.match(path)
        d = self.server.image_dir(m.group("name")) if m else None
        if d is None:
            self.error(404, "NAME_UNKNOWN", "repository name not known",
                       head)
            return
        if m.group("kind") == "manifests":
            self.manifest(d, m.group("ref"), head)
        else:
            self.blob(d, m.group("ref"), head)

    def do_GET(self):  # noqa: N802
        self.handle_get(False)

    def do_HEAD(self):  # noqa: N802
        self.handle_get(True)

    def refuse(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)
        self.error(405, "UNSUPPORTED", "read-only test registry", False)

    do_PUT = do_POST = do_PATCH = do_DELETE = refuse  # noqa: N815


def write_ready(path, port):
    if os.path.exists(path) and stat.S_ISFIFO(os.stat(path).st_mode):
        with open(path, "w", encoding="ascii") as f:
            f.write("%d\n" % port)
        return
    with open(path + ".tmp", "w", encoding="ascii") as f:
        f.write("%d\n" % port)
    os.rename(path + ".tmp", path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--ready-file")
    p.add_argument("--log")
    args = p.parse_args()
    server = Server(args)
    port = server.server_address[1]
    if args.ready_file:
        write_ready(args.ready_file, port)
    else:
        print(port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
