#!/usr/bin/env python3
"""credserver.py: a loopback stand-in for the services credentials come from,
and for FC itself, that checks everything it receives.

  STS         POST /  Action=AssumeRole (RPC signature, SignatureVersion 1.0,
              HMAC-SHA1, checked against --key-id/--key-secret or a key this
              server issued) and Action=AssumeRoleWithOIDC (the OIDCToken must
              equal the current text of --oidc-token-file)
  ECS IMDS    PUT /latest/api/token, GET /latest/meta-data/ram/security-credentials/[ROLE]
              (--imds v2: every GET needs the session token; v1: no token
              endpoint, GETs without one)
  URI         GET /uri?token=T (T must equal --uri-token)
  FC          POST /2023-03-30/functions/NAME/invocations: the ACS3 signature
              is checked against the key it names, which must be one this
              server issued, with its token, and not expired; answers the
              payload, and the key id in x-standin-key

Every credential it issues lives --lifetime seconds and has a fresh id,
secret and token; secrets and tokens are appended to --issued (for the
secret scan). After --fail-after issues, every further issue fails (HTTP
503). Each event is a JSON line in --log. Prints "listening on URL".
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--key-id", required=True)
ap.add_argument("--key-secret", required=True)
ap.add_argument("--oidc-token-file")
ap.add_argument("--uri-token", default="uri-query-token-SECRET")
ap.add_argument("--role", default="FcrunTestRole")
ap.add_argument("--imds", choices=["v1", "v2"], default="v2")
ap.add_argument("--lifetime", type=int, default=3600)
ap.add_argument("--fail-after", type=int, default=-1)
ap.add_argument("--log", required=True)
ap.add_argument("--issued", required=True)
args = ap.parse_args()

lock = threading.Lock()
issued = {}  # key id -> (secret, token, expires)
nonces = set()
imds_tokens = set()
count = {"issued": 0}


def log(**event):
    with lock, open(args.log, "a") as f:
        f.write(json.dumps(event, sort_keys=True) + "\n")


def pct(s):
    return urllib.parse.quote(s, safe="-_.~")


def issue(source):
    with lock:
        if 0 <= args.fail_after <= count["issued"]:
            return None
        count["issued"] += 1
        n = count["issued"]
        kid = "STS.%s-%d" % (source, n)
        secret, token = "issued-secret-" + secrets.token_hex(12), "issued-token-" + secrets.token_hex(16)
        expires = int(time.time()) + args.lifetime
        issued[kid] = (secret, token, expires)
        with open(args.issued, "a") as f:
            f.write(secret + "\n" + token + "\n")
    exp = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"AccessKeyId": kid, "AccessKeySecret": secret, "SecurityToken": token, "Expiration": exp}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, body, ctype="application/json", headers=()):
        if not isinstance(body, bytes):
            body = (json.dumps(body) if ctype == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def sts_error(self, status, code, msg):
        log(event="sts-error", code=code, message=msg)
        self.answer(status, {"RequestId": "standin-1", "Code": code, "Message": msg})

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/2023-03-30/functions/"):
            return self.fc(url)
        if url.path != "/":
            return self.answer(404, {"Code": "NotFound"})
        raw = self.body()
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        form = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
        if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return self.sts_error(400, "InvalidContentType", "want a form body")
        params = dict(query, **form)
        action = params.get("Action")
        for k, want in (("Version", "2015-04-01"), ("Format", "JSON")):
            if params.get(k) != want:
                return self.sts_error(400, "InvalidParameter", "%s must be %s" % (k, want))
        try:
            ts = datetime.datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return self.sts_error(400, "InvalidTimeStamp.Format", "bad Timestamp")
        if abs(ts.replace(tzinfo=datetime.timezone.utc).timestamp() - time.time()) > 900:
            return self.sts_error(400, "InvalidTimeStamp.Expired", "Timestamp too far off")
        for k in ("RoleArn", "RoleSessionName", "DurationSeconds"):
            if not params.get(k):
                return self.sts_error(400, "MissingParameter", k + " is required")
        if int(params["DurationSeconds"]) < 900:
            return self.sts_error(400, "InvalidParameter.DurationSeconds", "at least 900")
        seen = {k: params.get(k) for k in ("RoleArn", "RoleSessionName", "DurationSeconds", "Policy",
                                          "ExternalId", "OIDCProviderArn")}
        if action == "AssumeRole":
            if "Signature" not in query:
                return self.sts_error(400, "MissingSignature", "no Signature in the query")
            for k, want in (("SignatureMethod", "HMAC-SHA1"), ("SignatureVersion", "1.0")):
                if params.get(k) != want:
                    return self.sts_error(400, "InvalidParameter", "%s must be %s" % (k, want))
            kid = params.get("AccessKeyId")
            if kid == args.key_id:
                secret, token = args.key_secret, None
            elif kid in issued:
                secret, token, expires = issued[kid]
                if time.time() >= expires:
                    return self.sts_error(400, "InvalidSecurityToken.Expired", "the source key expired")
            else:
                return self.sts_error(404, "InvalidAccessKeyId.NotFound", "unknown key")
            if params.get("SecurityToken") != token:
                return self.sts_error(400, "InvalidSecurityToken.Mismatch", "wrong SecurityToken")
            with lock:
                nonce = params.get("SignatureNonce")
                if not nonce or nonce in nonces:
                    return self.sts_error(400, "SignatureNonceUsed", "nonce missing or reused")
                nonces.add(nonce)
            signed = {k: v for k, v in params.items() if k != "Signature"}
            canon = "&".join("%s=%s" % (pct(k), pct(signed[k])) for k in sorted(signed))
            sts = "POST&%2F&" + pct(canon)
            want = base64.b64encode(hmac.new((secret + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()
            if not hmac.compare_digest(want, params["Signature"]):
                return self.sts_error(400, "SignatureDoesNotMatch", "signature mismatch")
            seen["AccessKeyId"] = kid
        elif action == "AssumeRoleWithOIDC":
            if "Signature" in params or "AccessKeyId" in params:
                return self.sts_error(400, "InvalidParameter", "AssumeRoleWithOIDC is not signed")
            with open(args.oidc_token_file) as f:
                current = f.read().strip()
            if params.get("OIDCToken") != current:
                return self.sts_error(400, "InvalidParameter.OIDCToken", "not the current token")
            if not params.get("OIDCProviderArn"):
                return self.sts_error(400, "MissingParameter", "OIDCProviderArn is required")
            seen["token"] = current[-4:]
        else:
            return self.sts_error(400, "InvalidAction", "unknown action")
        creds = issue("sts")
        if not creds:
            return self.sts_error(503, "ServiceUnavailable", "the stand-in fails on purpose")
        log(event=action, **seen)
        self.answer(200, {"RequestId": "standin-2", "Credentials": creds,
                          "AssumedRoleUser": {"Arn": params["RoleArn"], "AssumedRoleId": "1:x"}})

    def do_PUT(self):
        if self.path != "/latest/api/token" or args.imds != "v2":
            return self.answer(404, "not here", "text/plain")
        if self.headers.get("X-aliyun-ecs-metadata-token-ttl-seconds") != "21600":
            return self.answer(400, "ttl header missing", "text/plain")
        tok = "imds-token-SECRET-" + secrets.token_hex(8)
        with lock:
            imds_tokens.add(tok)
            with open(args.issued, "a") as f:
                f.write(tok + "\n")
        log(event="imds-token")
        self.answer(200, tok, "text/plain")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/latest/meta-data/ram/security-credentials/"):
            tok = self.headers.get("X-aliyun-ecs-metadata-token")
            if args.imds == "v2" and tok not in imds_tokens:
                return self.answer(401, "session token required", "text/plain")
            role = urllib.parse.unquote(url.path[len("/latest/meta-data/ram/security-credentials/"):])
            if role == "":
                log(event="imds-role-name", v2=bool(tok))
                return self.answer(200, args.role, "text/plain")
            if role != args.role:
                return self.answer(404, "no such role", "text/plain")
            creds = issue("ecs")
            if not creds:
                return self.answer(503, "fails on purpose", "text/plain")
            log(event="imds-credentials", role=role, v2=bool(tok))
            return self.answer(200, dict(creds, Code="Success", LastUpdated="2026-01-01T00:00:00Z"))
        if url.path == "/uri":
            if dict(urllib.parse.parse_qsl(url.query)).get("token") != args.uri_token:
                return self.answer(403, {"message": "wrong token"})
            creds = issue("uri")
            if not creds:
                return self.answer(503, {"message": "fails on purpose"})
            log(event="uri")
            return self.answer(200, creds)
        self.answer(404, "not here", "text/plain")

    def fc(self, url):
        raw = self.body()
        h = {k.lower(): v.strip() for k, v in self.headers.items()}
        auth = h.get("authorization", "")
        parts = dict(p.split("=", 1) for p in auth[len("ACS3-HMAC-SHA256 "):].split(",") if "=" in p)
        kid = parts.get("Credential")
        if not auth.startswith("ACS3-HMAC-SHA256 ") or kid not in issued:
            log(event="fc-reject", why="unknown key", key=kid)
            return self.answer(403, {"Code": "InvalidAccessKeyId", "Message": "unknown key"})
        secret, token, expires = issued[kid]
        if time.time() >= expires:
            log(event="fc-reject", why="expired", key=kid)
            return self.answer(403, {"Code": "InvalidSecurityToken.Expired", "Message": "expired"})
        if h.get("x-acs-security-token") != token or h.get("x-acs-accesskey-id") != kid:
            log(event="fc-reject", why="token", key=kid)
            return self.answer(403, {"Code": "InvalidSecurityToken", "Message": "wrong token"})
        if h.get("x-acs-content-sha256") != hashlib.sha256(raw).hexdigest():
            return self.answer(400, {"Code": "InvalidArgument", "Message": "content hash"})
        names = parts.get("SignedHeaders", "").split(";")
        canon = "\n".join([self.command, url.path, url.query,
                           "".join("%s:%s\n" % (n, h.get(n, "")) for n in names),
                           ";".join(names), h["x-acs-content-sha256"]])
        sts = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canon.encode()).hexdigest()
        want = hmac.new(secret.encode(), sts.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, parts.get("Signature", "")):
            log(event="fc-reject", why="signature", key=kid)
            return self.answer(403, {"Code": "SignatureNotMatch", "Message": "signature mismatch"})
        log(event="invoke", key=kid)
        self.answer(200, raw, "application/octet-stream",
                    [("x-fc-request-id", "standin-" + secrets.token_hex(4)), ("x-standin-key", kid)])


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
print("listening on http://127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
