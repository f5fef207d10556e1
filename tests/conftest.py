"""Shared fixtures: a real sandbox process on loopback, and settings aimed at it."""

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.test.utils import override_settings

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Sandbox:
    zinc_url: str
    stripe_url: str
    process: subprocess.Popen[str]

    @property
    def control(self) -> httpx.Client:
        return httpx.Client(base_url=self.zinc_url, timeout=10)

    def reset(self) -> None:
        with self.control as client:
            client.post("/_sandbox/reset").raise_for_status()

    def ledger(self, idempotency_key: str | None = None) -> dict:
        params = {"idempotency_key": idempotency_key} if idempotency_key else {}
        with self.control as client:
            response = client.get("/_sandbox/ledger", params=params)
            response.raise_for_status()
            return response.json()

    def advance(self, seconds: float) -> None:
        with self.control as client:
            response = client.post("/_sandbox/clock/advance", json={"seconds": seconds})
            response.raise_for_status()

    def configure(self, **config: object) -> None:
        with self.control as client:
            client.post("/_sandbox/config", json=config).raise_for_status()

    def add_fault(self, **fault: object) -> None:
        with self.control as client:
            client.post("/_sandbox/faults", json=fault).raise_for_status()

    def clear_faults(self) -> None:
        with self.control as client:
            client.delete("/_sandbox/faults").raise_for_status()


def _start_sandbox() -> Sandbox:
    command = [
        sys.executable,
        "-m",
        "sandbox",
        "--zinc-port",
        "0",
        "--stripe-port",
        "0",
        "--step-seconds",
        "60",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("sandbox ready"):
            fields = dict(part.split("=", 1) for part in line.split()[2:])
            return Sandbox(fields["zinc"], fields["stripe"], process)
    process.kill()
    raise RuntimeError(f"sandbox exited with {process.wait()} before it was ready")


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[Sandbox]:
    sandbox = _start_sandbox()
    try:
        yield sandbox
    finally:
        sandbox.process.terminate()
        sandbox.process.wait(timeout=10)


@pytest.fixture
def sandbox(sandbox_process: Sandbox) -> Iterator[Sandbox]:
    """The sandbox, reset, with every Zinc and Stripe URL setting aimed at it.

    Lifecycle steps are 60 s of sandbox time, so orders only move when a test
    advances the sandbox clock. After the test, the sandbox's ledger must show
    at most one charge and one order per idempotency key, and no charge
    without its order.
    """
    from zincdash.settings import build_csp

    sandbox_process.reset()
    stripe_js_url = f"{sandbox_process.stripe_url}/stripe.js"
    with override_settings(
        ZINC_API_URL=sandbox_process.zinc_url,
        STRIPE_API_URL=sandbox_process.stripe_url,
        STRIPE_JS_URL=stripe_js_url,
        STRIPE_SECRET_KEY="sk_test_sandbox",
        STRIPE_PUBLISHABLE_KEY="pk_test_sandbox",
        SECURE_CSP=build_csp(stripe_js_url, sandbox_process.stripe_url),
    ):
        yield sandbox_process
    _assert_charged_at_most_once(sandbox_process.ledger())
    sandbox_process.configure(step_seconds=60, challenge_ttl_seconds=300)


def _assert_charged_at_most_once(ledger: dict) -> None:
    """Check, after every test that used the sandbox, that no order paid twice."""
    charges = Counter(charge["idempotency_key"] for charge in ledger["charges"])
    orders = Counter(order["idempotency_key"] for order in ledger["orders"])
    assert [key for key, count in charges.items() if count > 1] == []
    assert [key for key, count in orders.items() if count > 1] == []
    assert set(charges) == set(orders)
