"""A local stand-in for a Bluesky PDS: the XRPC methods lettermon uses, with real status codes.

Serves com.atproto.server.createSession / refreshSession / getSession and
com.atproto.repo.createRecord / getRecord / uploadBlob. Tokens are JWT-shaped (the SDK reads
their ``exp``), logins are counted, and ``fail_next(429)`` answers with ``ratelimit-*``
headers as the real PDS does.

A create with an rkey that already exists is refused as the reference PDS refuses it: its
repository tree raises "There is already a value at key", which is not an XRPC error, so the
client gets 500 InternalServerError. ``duplicate_status=400`` answers 400 InvalidRequest
instead, as other PDS implementations do. ``on_accept`` runs after a record is stored and
before the answer goes out.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import time
from collections.abc import Callable
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

HANDLE = "letters.test"
DID = "did:plc:lettermontest0000000000"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
POST = "app.bsky.feed.post"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakePds:
    def __init__(self, server: HTTPServer, *, access_ttl: int = 7200) -> None:
        self.server = server
        self.access_ttl = access_ttl
        self.duplicate_status = 500
        self.logins = 0
        self.refreshes = 0
        self.records: dict[str, dict[str, Any]] = {}
        self.blobs: dict[str, bytes] = {}
        self.received: list[tuple[str, str, Any]] = []
        self._access: set[str] = set()
        self._refresh: set[str] = set()
        self._failures: list[tuple[int, dict[str, str], dict[str, str]]] = []
        self._serial = itertools.count(1)
        self.on_accept: Callable[[], None] | None = None
        server.expect_request(re.compile("/xrpc/.*")).respond_with_handler(self.handle)

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def fail_next(self, status: int, *, count: int = 1, reset_in: int = 300) -> None:
        headers: dict[str, str] = {}
        body = {"error": "InternalServerError", "message": "Internal Server Error"}
        if status == 429:
            headers = {"ratelimit-limit": "5000", "ratelimit-remaining": "0",
                       "ratelimit-reset": str(int(time.time()) + reset_in),
                       "ratelimit-policy": "5000;w=3600"}
            body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        self._failures.extend([(status, headers, body)] * count)

    def revoke_sessions(self) -> None:
        """Forget every issued token, as after a password change."""
        self._access.clear()
        self._refresh.clear()

    # -- request handling ----------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        method = request.path.removeprefix("/xrpc/")
        body: Any = request.get_json(silent=True) if request.is_json else None
        self.received.append((method, request.headers.get("Authorization", ""), body))
        if self._failures:
            status, headers, error = self._failures.pop(0)
            return _json(status, error, headers)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return _json(501, {"error": "MethodNotImplemented",
                               "message": "Method Not Implemented"})
        result: Response = handler(request, body)
        return result

    def _com_atproto_server_createSession(self, request: Request, body: Any) -> Response:
        self.logins += 1
        if (body or {}).get("identifier") not in (HANDLE, DID) or \
                (body or {}).get("password") != APP_PASSWORD:
            return _json(401, {"error": "AuthenticationRequired",
                               "message": "Invalid identifier or password"})
        return _json(200, self._new_session())

    def _com_atproto_server_refreshSession(self, request: Request, body: Any) -> Response:
        token = _bearer(request)
        if token not in self._refresh:
            return _json(400, {"error": "ExpiredToken", "message": "Token has been revoked"})
        self._refresh.discard(token)
        self.refreshes += 1
        return _json(200, self._new_session())

    def _com_atproto_server_getSession(self, request: Request, body: Any) -> Response:
        if (denied := self._check_access(request)) is not None:
            return denied
        return _json(200, {"handle": HANDLE, "did": DID, "active": True})

    def _com_atproto_repo_uploadBlob(self, request: Request, body: Any) -> Response:
        if (denied := self._check_access(request)) is not None:
            return denied
        data = request.get_data()
        cid = "bafkrei" + _b32(hashlib.sha256(data).digest())[:52]
        self.blobs[cid] = data
        return _json(200, {"blob": {"$type": "blob", "ref": {"$link": cid},
                                    "mimeType": request.mimetype or "application/octet-stream",
                                    "size": len(data)}})

    def _com_atproto_repo_createRecord(self, request: Request, body: Any) -> Response:
        if (denied := self._check_access(request)) is not None:
            return denied
        if body.get("repo") not in (DID, HANDLE) or body.get("collection") != POST:
            return _json(400, {"error": "InvalidRequest", "message": "Invalid repo or collection"})
        rkey = body.get("rkey") or f"3l{next(self._serial):011d}"
        if rkey in self.records:
            if self.duplicate_status == 400:
                return _json(400, {"error": "InvalidRequest",
                                   "message": f"Record already exists: {POST}/{rkey}"})
            return _json(500, {"error": "InternalServerError",
                               "message": "Internal Server Error"})
        uri = f"at://{DID}/{POST}/{rkey}"
        cid = "bafyrei" + _b32(hashlib.sha256(json.dumps(body).encode()).digest())[:52]
        self.records[rkey] = {"uri": uri, "cid": cid, "value": body["record"]}
        if self.on_accept is not None:
            self.on_accept()
        return _json(200, {"uri": uri, "cid": cid,
                           "commit": {"cid": cid, "rev": f"3l{next(self._serial):011d}"},
                           "validationStatus": "valid"})

    def _com_atproto_repo_getRecord(self, request: Request, body: Any) -> Response:
        rkey = request.args.get("rkey", "")
        record = self.records.get(rkey)
        if request.args.get("collection") != POST or record is None:
            return _json(400, {"error": "RecordNotFound",
                               "message": f"Could not locate record: at://{DID}/{POST}/{rkey}"})
        return _json(200, record)

    # -- tokens --------------------------------------------------------------------------

    def _new_session(self) -> dict[str, Any]:
        now = int(time.time())
        access = self._jwt({"scope": "com.atproto.appPass", "sub": DID, "iat": now,
                            "exp": now + self.access_ttl, "aud": "did:web:pds.test"})
        refresh = self._jwt({"scope": "com.atproto.refresh", "sub": DID, "iat": now,
                             "exp": now + 90 * 86400, "jti": str(next(self._serial))})
        self._access.add(access)
        self._refresh.add(refresh)
        return {"accessJwt": access, "refreshJwt": refresh, "handle": HANDLE, "did": DID,
                "active": True}

    def _jwt(self, payload: dict[str, Any]) -> str:
        header = _b64(json.dumps({"typ": "at+jwt", "alg": "ES256K"}).encode())
        body = _b64(json.dumps({**payload, "n": next(self._serial)}).encode())
        return f"{header}.{body}.{_b64(hashlib.sha256(body.encode()).digest())}"

    def _check_access(self, request: Request) -> Response | None:
        token = _bearer(request)
        if token in self._access:
            payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
            if payload["exp"] > time.time():
                return None
            return _json(400, {"error": "ExpiredToken", "message": "Token has expired"})
        return _json(401, {"error": "InvalidToken", "message": "Token could not be verified"})


def _bearer(request: Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ").strip()


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().lower().rstrip("=")


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers,
                    content_type="application/json; charset=utf-8")
