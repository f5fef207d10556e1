"""Command line entry point: ``python -m sandbox --zinc-port 8101 --stripe-port 8102``.

Once both ports listen, it prints ``sandbox ready zinc=URL stripe=URL`` to stdout so
a parent process can wait for that line. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import secrets
import signal
import sys
import threading
from types import FrameType

from sandbox import lifecycle
from sandbox.control import add_control_routes
from sandbox.server import server_url, start_server
from sandbox.state import ERROR_ENVELOPES, SandboxConfig, SandboxState
from sandbox.stripe_api import build_stripe_app
from sandbox.zinc import build_zinc_app

logger = logging.getLogger(__name__)

LIFECYCLE_TICK_SECONDS = 0.2


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Local stand-in for Zinc's MPP order API and Stripe.",
    )
    parser.add_argument(
        "--zinc-port",
        type=int,
        default=int(_env("SANDBOX_ZINC_PORT", "8101")),
        help="Port of the Zinc API; 0 picks a free port (env SANDBOX_ZINC_PORT).",
    )

    parser.add_argument(
        "--stripe-port",
        type=int,
        default=int(_env("SANDBOX_STRIPE_PORT", "8102")),
        help="Port of the Stripe API and Stripe.js; 0 picks a free port "
        "(env SANDBOX_STRIPE_PORT).",
    )

    parser.add_argument(
        "--host",
        default=_env("SANDBOX_HOST", "127.0.0.1"),
        help="Loopback address to bind; other addresses are rejected because the "
        "control endpoints have no authentication (env SANDBOX_HOST).",
    )

    parser.add_argument(
        "--step-seconds",
        type=float,
        default=float(_env("SANDBOX_STEP_SECONDS", "5")),
        help="Sandbox seconds between order lifecycle steps "
        "(env SANDBOX_STEP_SECONDS).",
    )

    parser.add_argument(
        "--challenge-ttl",
        type=float,
        default=float(_env("SANDBOX_CHALLENGE_TTL", "300")),
        help="Seconds until a payment challenge expires (env SANDBOX_CHALLENGE_TTL).",
    )

    parser.add_argument(
        "--error-envelope",
        choices=ERROR_ENVELOPES,
        default=_env("SANDBOX_ERROR_ENVELOPE", "nested"),
        help="Zinc error shape: nested {'error': {...}} or flat {'code', ...} "
        "(env SANDBOX_ERROR_ENVELOPE).",
    )

    parser.add_argument(
        "--secret",
        default=os.environ.get("SANDBOX_SECRET"),
        help="HMAC key for challenge ids; random per process when unset "
        "(env SANDBOX_SECRET).",
    )

    parser.add_argument(
        "--realm",
        default=_env("SANDBOX_REALM", "api.zinc.com"),
        help="MPP realm of the challenges (env SANDBOX_REALM).",
    )

    parser.add_argument(
        "--network-id",
        default=_env("SANDBOX_NETWORK_ID", "profile_test_zincsandbox"),
        help="Stripe profile id that shared payment tokens must be issued to "
        "(env SANDBOX_NETWORK_ID).",
    )

    parser.add_argument(
        "--log-level",
        default=_env("SANDBOX_LOG_LEVEL", "INFO"),
        help="Logging level for stderr (env SANDBOX_LOG_LEVEL).",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not _is_loopback(args.host):
        parser.error(
            f"--host must be a loopback address such as 127.0.0.1, got {args.host!r}"
        )
    if args.step_seconds <= 0:
        parser.error("--step-seconds must be greater than 0")
    if args.challenge_ttl <= 0:
        parser.error("--challenge-ttl must be greater than 0")
    return args


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _run_lifecycle(state: SandboxState, stop: threading.Event) -> None:
    """Advance orders in the background so the ledger fills without polling."""
    while not stop.wait(LIFECYCLE_TICK_SECONDS):
        try:
            with state.lock:
                lifecycle.advance_all(state)
        except Exception:
            logger.exception("Lifecycle tick failed; retrying on the next tick")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    config = SandboxConfig(
        secret=args.secret or secrets.token_hex(32),
        step_seconds=args.step_seconds,
        challenge_ttl_seconds=args.challenge_ttl,
        error_envelope=args.error_envelope,
        realm=args.realm,
        network_id=args.network_id,
    )
    state = SandboxState(config)
    zinc_app = build_zinc_app()
    add_control_routes(zinc_app.router)
    try:
        zinc_server = start_server(zinc_app, state, args.host, args.zinc_port)
        stripe_server = start_server(
            build_stripe_app(), state, args.host, args.stripe_port
        )
    except OSError as error:
        logger.error(
            "Could not listen on %s (zinc port %s, stripe port %s): %s. "
            "Pick free ports or pass 0.",
            args.host,
            args.zinc_port,
            args.stripe_port,
            error,
        )
        return 1

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("Received signal %s, stopping", signum)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    ticker = threading.Thread(
        target=_run_lifecycle, args=(state, stop), name="sandbox-lifecycle", daemon=True
    )
    ticker.start()

    zinc_url = server_url(zinc_server)
    stripe_url = server_url(stripe_server)
    logger.info(
        "Sandbox started: zinc=%s stripe=%s step=%ss challenge_ttl=%ss",
        zinc_url,
        stripe_url,
        config.step_seconds,
        config.challenge_ttl_seconds,
    )
    print(f"sandbox ready zinc={zinc_url} stripe={stripe_url}", flush=True)

    stop.wait()
    for server in (zinc_server, stripe_server):
        server.shutdown()
        server.server_close()
    ticker.join(timeout=2)
    logger.info("Sandbox stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
