#!/usr/bin/python3
"""Bearer token server for berth's system tests (Docker registry token auth).

Speaks the token protocol docker-distribution's `auth: token:` expects
(distribution docs/spec/auth/token.md and oauth.md):

  GET  /token?service=S&scope=repository:NAME:pull,push[&scope=...]
       Authorization: Basic base64(user:pass)      (optional)
  POST /token  grant_type=password|refresh_token, username, password,
       refresh_token, service, scope (form encoded)

Policy, chosen so tests can tell a client that sends credentials from one
that does not:
  - valid Basic credentials (or password grant): every requested action on
    `repository:*` and `registry:catalog:*` is granted;
  - wrong credentials: 401, like Docker Hub;
  - no credentials: an empty access list, so the registry answers 401 to the
    client's retry (anonymous pulls fail), except repositories that start
    with an --anon-pull-prefix, which anonymous users may pull.

The JWT is RS256, signed by `openssl dgst -sha256 -sign KEY` (stdlib only,
no pip).  Its header carries "x5c": [base64 DER of CERT]; the registry
verifies that chain against its `rootcertbundle` (CERT itself, self-signed),
then the signature with the leaf's key (distribution registry/auth/token/
token.go VerifySigningKey).

The server binds 127.0.0.1 port 0 (so no port race) and writes "PORT\\n" to
--ready-file (a FIFO or a plain file) once it listens.  Each request is
logged as one JSON line to --log, so tests can assert which scopes a client
asked for and whether it sent credentials.
"""

import argparse
import base64
import json
import os
import secrets
import ssl
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPO_ACTIONS = {"pull", "push", "delete", "*"}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Signer:
    def __init__(self, key_path, cert_path):
        self.key_path = key_path
        with open(cert_path, "r", encoding="ascii") as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        self.x5c = [base64.b64encode(der).decode("ascii")]

    def sign(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode())
                         + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        # PKCS#1 v1.5 over SHA-256 is what RS256 means (RFC 7518 3.3).
        proc = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", self.key_path],
            input=signing_input.encode("ascii"), capture_output=True,
            timeout=30, check=False)
        if proc.returncode != 0:
            raise RuntimeError("openssl sign failed: " +
                               proc.stderr.decode(errors="replace"))
        return signing_input + "." + b64url(proc.stdout)


def parse_scope(scope):
    """'repository:a/b:pull,push' -> ('repository', 'a/b', ['pull','push'])."""
    first = scope.find(":")
    last = scope.rfind(":")
    if first < 0 or last == first:
        return None
    rtype = scope[:first]
    name = scope[first + 1:last]
    actions = [a for a in scope[last + 1:].split(",") if a]
    if not rtype or not name:
        return None
    return rtype, name, actions


class TokenServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, args, signer):
        super().__init__(("127.0.0.1", args.port), Handler)
        self.args = args
        self.signer = signer
        self.users = dict(u.split(":", 1) for u in args.user)
        self.refresh_tokens = {}
        self.lock = threading.Lock()

    def log_json(self, entry):
        if not self.args.log:
            return
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self.lock, open(self.args.log, "a", encoding="utf-8") as f:
            f.write(line)

    def grant(self, user, scopes):
        access = []
        for scope in scopes:
            parsed = parse_scope(scope)
            if parsed is None:
                continue
            rtype, name, actions = parsed
            if user is not None:
                if rtype == "repository":
                    allowed = [a for a in actions if a in REPO_ACTIONS]
                elif rtype == "registry" and name == "catalog":
                    allowed = [a for a in actions if a == "*"]
                else:
                    allowed = []
            elif rtype == "repository" and any(
                    name.startswith(p) for p in self.args.anon_pull_prefix):
                allowed = [a for a in actions if a == "pull"]
            else:
                allowed = []
            if allowed:
                access.append({"type": rtype, "name": name,
                               "actions": allowed})
        return access

    def issue(self, user, scopes):
        now = int(time.time())
        access = self.grant(user, scopes)
        claims = {
            "iss": self.args.issuer,
            "sub": user or "",
            "aud": self.args.service,
            "exp": now + self.args.expires,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        return self.signer.sign(claims), access


class Handler(BaseHTTPRequestHandler):
    server_version = "berth-test-token/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        sys.stderr.write("token-server: " + (format % args) + "\n")

    def reply(self, code, body, extra_headers=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def unauthorized(self, entry, message):
        entry["result"] = 401
        self.server.log_json(entry)
        self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                     "message": message}]},
                   {"WWW-Authenticate": 'Basic realm="berth-test-token"'})

    def basic_user(self):
        """None if no Authorization, False if bad, else the user name."""
        auth = self.headers.get("Authorization")
        if not auth:
            return None
        kind, _, value = auth.partition(" ")
        if kind.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(
                value.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        if self.server.users.get(user) != password:
            return False
        return user

    def check_service(self, service, entry):
        if service is not None and service != self.server.args.service:
            entry["result"] = 400
            self.server.log_json(entry)
            self.reply(400, {"errors": [{"code": "INVALID_REQUEST",
                                         "message": "unknown service " +
                                                    service}]})
            return False
        return True

    def do_GET(self):  # noqa: N802 (http.server naming)
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self.reply(404, {"errors": [{"code": "NOT_FOUND",
                                         "message": url.path}]})
            return
        query = urllib.parse.parse_qs(url.query)
        scopes = []
        for s in query.get("scope", []):
            scopes.extend(s.split(" "))
        service = query.get("service", [None])[0]
        user = self.basic_user()
        entry = {"method": "GET", "service": service, "scopes": scopes,
                 "user": user if user else None,
                 "credentials": user is not None,
                 "account": query.get("account", [None])[0]}
        if user is False:
            self.unauthorized(entry, "invalid credentials")
            return
        if not self.check_service(service, entry):
            return
        token, access = self.issue_or_500(user, scopes, entry)
        if token is None:
            return
        body = {"token": token, "access_token": token,
                "expires_in": self.server.args.expires,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                           time.gmtime())}
        if user and query.get("offline_token", [""])[0] == "true":
            body["refresh_token"] = self.new_refresh_token(user)
        entry.update(result=200, granted=access)
        self.server.log_json(entry)
        self.reply(200, body)

    def issue_or_500(self, user, scopes, entry):
        try:
            return self.server.issue(user, scopes)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            entry.update(result=500, error=str(e))
            self.server.log_json(entry)
            self.reply(500, {"errors": [{"code": "UNKNOWN",
                                         "message": str(e)}]})
            return None, None

    def new_refresh_token(self, user):
        rt = secrets.token_hex(16)
        with self.server.lock:
            self.server.refresh_tokens[rt] = user
        return rt

    def do_POST(self):  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if url.path != "/token":
            self.reply(404, {"errors": [{"code": "NOT_FOUND",
                                         "message": url.path}]})
            return
        form = urllib.parse.parse_qs(raw.decode(errors="replace"))
        grant = form.get("grant_type", [""])[0]
        service = form.get("service", [None])[0]
        scopes = []
        for s in form.get("scope", []):
            scopes.extend(s.split(" "))
        entry = {"method": "POST", "grant_type": grant, "service": service,
                 "scopes": scopes, "credentials": True}
        user = None
        if grant == "password":
            name = form.get("username", [""])[0]
            if self.server.users.get(name) != form.get("password", [None])[0]:
                self.unauthorized(entry, "invalid credentials")
                return
            user = name
        elif grant == "refresh_token":
            rt = form.get("refresh_token", [""])[0]
            with self.server.lock:
                user = self.server.refresh_tokens.get(rt)
            if user is None:
                self.unauthorized(entry, "invalid refresh token")
                return
        else:
            entry["result"] = 400
            self.server.log_json(entry)
            self.reply(400, {"error": "unsupported_grant_type"})
            return
        if not self.check_service(service, entry):
            return
        token, access = self.issue_or_500(user, scopes, entry)
        if token is None:
            return
        body = {"access_token": token, "token": token,
                "expires_in": self.server.args.expires, "scope": " ".join(scopes)}
        if form.get("access_type", [""])[0] == "offline":
            body["refresh_token"] = self.new_refresh_token(user)
        entry.update(user=user, result=200, granted=access)
        self.server.log_json(entry)
        self.reply(200, body)


def write_ready(path, port):
    """A FIFO is written directly; a plain file appears whole (rename)."""
    if os.path.exists(path) and stat.S_ISFIFO(os.stat(path).st_mode):
        with open(path, "w", encoding="ascii") as f:
            f.write("%d\n" % port)
        return
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--key", required=True, help="PEM private key (RSA)")
    p.add_argument("--cert", required=True, help="PEM cert of --key; the "
                   "registry's rootcertbundle")
    p.add_argument("--issuer", default="berth-test-issuer")
    p.add_argument("--service", default="berth-test")
    p.add_argument("--user", action="append", default=[],
                   help="USER:PASSWORD accepted (repeatable); "
                   "default testuser:testpass")
    p.add_argument("--anon-pull-prefix", action="append", default=[],
                   help="repositories anonymous users may pull")
    p.add_argument("--expires", type=int, default=300)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--ready-file", help="write PORT\\n here once listening")
    p.add_argument("--log", help="append one JSON line per request")
    args = p.parse_args()
    if not args.user:
        args.user = ["testuser:testpass"]

    server = TokenServer(args, Signer(args.key, args.cert))
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
