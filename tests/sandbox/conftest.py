"""Fixtures for the sandbox's own tests: one real sandbox process per session.

The process runs with 60-second lifecycle steps, so orders move only when a test
advances the sandbox clock through the control API.
"""

from __future__ import annotations

import logging
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_client import NETWORK_ID, STEP_SECONDS, SandboxClient

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 15


def _read_ready_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("sandbox ready "):
            return line
    process.kill()
    raise RuntimeError(
        f"sandbox did not print its ready line within {READY_TIMEOUT_SECONDS} s"
    )


@pytest.fixture(scope="session")
def sandbox_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    log_path = tmp_path_factory.mktemp("sandbox") / "sandbox.log"
    command = [
        sys.executable,
        "-m",
        "sandbox",
        "--zinc-port",
        "0",
        "--stripe-port",
        "0",
        "--step-seconds",
        str(STEP_SECONDS),
        "--network-id",
        NETWORK_ID,
    ]
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            line = _read_ready_line(process)
            fields = dict(part.split("=", 1) for part in line.split()[2:])
            yield fields
        finally:
            process.terminate()
            process.wait(timeout=10)
    logger.info("Sandbox log kept at %s", log_path)


@pytest.fixture
def sandbox_api(sandbox_urls: dict[str, str]) -> Iterator[SandboxClient]:
    """A client of both ports of a freshly reset sandbox.

    Named sandbox_api because pytest-django already provides a ``client`` fixture.
    """
    sandbox_client = SandboxClient(sandbox_urls["zinc"], sandbox_urls["stripe"])
    sandbox_client.zinc.post("/_sandbox/reset").raise_for_status()
    try:
        yield sandbox_client
    finally:
        sandbox_client.close()
