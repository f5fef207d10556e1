"""HTTP plumbing: request and response objects, a small router and the servers.

Each port runs a stdlib ``ThreadingHTTPServer``, so every connection is handled in
its own thread. Handlers are plain functions ``(state, request) -> Response``.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.state import SandboxState

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# Shared payment token ids are bearer credentials and must not reach the logs.
_SECRET_ID_RE = re.compile(r"spt_[A-Za-z0-9_]+")


def redact_secrets(text: str) -> str:
    """Replace shared payment token ids in text meant for logs."""
    return _SECRET_ID_RE.sub("spt_[redacted]", text)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    path_params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def header_values(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json_object(self) -> dict[str, Any]:
        """Decode a JSON object body; an empty body is an empty object.

        Raises ValueError when the body is not a JSON object.
        """
        if not self.body.strip():
            return {}
        data = json.loads(self.body)
        if not isinstance(data, dict):
            raise ValueError("request body must be a JSON object")
        return data


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Close the socket without writing a response, after the handler's effects.
    drop_connection: bool = False


def json_response(
    status: int,
    payload: Any,
    headers: list[tuple[str, str]] | None = None,
    content_type: str = "application/json",
) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    all_headers = [("Content-Type", content_type), *(headers or [])]
    return Response(status=status, body=body, headers=all_headers)


Handler = Callable[[SandboxState, Request], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    """Maps ``METHOD /path/{param}`` templates to handlers."""

    def __init__(self, not_found: Callable[[Request], Response]) -> None:
        self.routes: list[Route] = []
        self.not_found = not_found

    def add(self, method: str, template: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self.routes.append(Route(method, re.compile(f"^{regex}$"), handler))

    def dispatch(self, state: SandboxState, request: Request) -> Response:
        path_matched = False
        for route in self.routes:
            match = route.pattern.match(request.path)
            if match is None:
                continue
            path_matched = True
            if route.method != request.method:
                continue
            request.path_params = match.groupdict()
            return route.handler(state, request)
        if path_matched:
            return json_response(
                405,
                {
                    "error": {
                        "code": "method_not_allowed",
                        "message": "Method not allowed.",
                    }
                },
            )
        return self.not_found(request)


@dataclass
class App:
    """One port's behaviour: its router plus hooks the handler class calls."""

    name: str
    router: Router
    extra_headers: Callable[[Request], list[tuple[str, str]]] = lambda request: []
    preflight: Callable[[Request], Response] | None = None
    error_response: Callable[[], Response] = lambda: json_response(
        500, {"error": {"code": "internal_error", "message": "Internal sandbox error."}}
    )


def make_handler_class(app: App, state: SandboxState) -> type[BaseHTTPRequestHandler]:
    class SandboxRequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"ZincDashSandbox-{app.name}"
        # Headers and body go out in two writes; with Nagle's algorithm and delayed
        # ACKs, each keep-alive response would otherwise stall for about 40 ms.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_OPTIONS(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:
            # The stdlib writes access lines to stderr; route them through logging.
            logger.debug("%s %s", app.name, redact_secrets(format % args))

        def _handle(self) -> None:
            request = self._read_request()
            if request is None:
                return
            if not request.path.startswith("/_sandbox/"):
                paid = any(
                    "payment " in value.lower()
                    for value in request.header_values("Authorization")
                )
                state.count_request(request.path, paid=paid)
            try:
                if request.method == "OPTIONS" and app.preflight is not None:
                    response = app.preflight(request)
                else:
                    response = app.router.dispatch(state, request)
            except Exception:
                logger.exception(
                    "%s handler failed for %s %s",
                    app.name,
                    request.method,
                    redact_secrets(request.path),
                )
                response = app.error_response()
            logger.info(
                "%s %s %s -> %s",
                app.name,
                request.method,
                redact_secrets(request.path),
                "dropped" if response.drop_connection else response.status,
            )
            if response.drop_connection:
                self._drop_connection()
                return
            response.headers.extend(app.extra_headers(request))
            self._write(response)

        def _read_request(self) -> Request | None:
            length_header = self.headers.get("Content-Length")
            try:
                length = int(length_header) if length_header else 0
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY_BYTES:
                self._write(
                    json_response(
                        400,
                        {
                            "error": {
                                "code": "bad_request",
                                "message": "Content-Length is invalid or over 1 MiB.",
                            }
                        },
                    )
                )
                self.close_connection = True
                return None
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            return Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers=self.headers,
                body=body,
            )

        def _write(self, response: Response) -> None:
            try:
                self.send_response(response.status)
                for name, value in response.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                # Clients that time out (as the "timeout" fault intends) hang up first.
                logger.info("%s client disconnected before the response", app.name)
                self.close_connection = True

        def _drop_connection(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                logger.debug("Socket was already closed while dropping a connection")

    return SandboxRequestHandler


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Lets a restarted sandbox reuse its port while old sockets sit in TIME_WAIT.
    allow_reuse_address = True


class SandboxHTTPServerV6(SandboxHTTPServer):
    address_family = socket.AF_INET6


def start_server(
    app: App, state: SandboxState, host: str, port: int
) -> SandboxHTTPServer:
    """Bind ``host:port`` and serve in a daemon thread; port 0 picks a free port."""
    server_class = SandboxHTTPServerV6 if ":" in host else SandboxHTTPServer
    server = server_class((host, port), make_handler_class(app, state))
    thread = threading.Thread(
        target=server.serve_forever, name=f"sandbox-{app.name}", daemon=True
    )
    thread.start()
    return server


def server_url(server: SandboxHTTPServer) -> str:
    host, port = server.server_address[:2]
    if isinstance(host, bytes):
        host = host.decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
