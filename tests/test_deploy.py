"""The image is small and safe by construction (hadolint itself runs in the test command)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text("utf-8")


def instructions(name: str) -> list[str]:
    return [line for line in DOCKERFILE.splitlines() if line.startswith(name + " ")]


def test_slim_base_and_non_root_user() -> None:
    """A slim Python base, and the process does not run as root."""
    assert instructions("FROM") == ["FROM python:3.11-slim"]
    users = instructions("USER")
    assert users and users[-1].split()[1] not in ("root", "0")


def test_listens_everywhere_on_7860_with_a_health_check() -> None:
    """0.0.0.0:7860 inside the container, and Docker checks /healthz."""
    assert "PLAYGROUND_HOST=0.0.0.0" in DOCKERFILE and "PLAYGROUND_PORT=7860" in DOCKERFILE
    assert instructions("EXPOSE") == ["EXPOSE 7860"]
    health = [line for line in DOCKERFILE.splitlines() if "HEALTHCHECK" in line or "CMD [" in line]
    assert any("/healthz" in line for line in health)


def test_only_what_the_app_needs() -> None:
    """Runtime requirements only; tests, benchmarks and docs stay out of the image."""
    copied = " ".join(instructions("COPY"))
    assert "requirements-dev" not in copied and "tests" not in copied
    ignored = (ROOT / ".dockerignore").read_text("utf-8").split()
    assert {"tests", "benchmarks", ".git", ".playground"} <= set(ignored)
    assert 'VOLUME ["/data"]' in DOCKERFILE and "PLAYGROUND_DATA_DIR=/data" in DOCKERFILE
