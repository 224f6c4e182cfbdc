"""Start and drive a real `ninja-oauth serve` process, as a user would."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

CLI = [sys.executable, "-m", "ninja_oauth"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_available(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(
            url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3
        ):
            return True
    except Exception:
        return False


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _password: str = field(default_factory=lambda: "pw-" + secrets.token_urlsafe(12))
    _user_email: str | None = None

    def cli(
        self, *args: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*CLI, *args], env=self.env, capture_output=True, text=True, timeout=60, input=input
        )
        if check and result.returncode != 0:
            raise AssertionError(f"ninja-oauth {' '.join(args)} failed: {result.stderr}")
        return result

    def create_app(
        self,
        platform: str,
        *,
        name: str | None = None,
        redirect_uris: list[str] | None = None,
        scopes: list[str] | None = None,
        grants: list[str] | None = None,
    ) -> dict[str, Any]:
        args = ["apps", "create", "--name", name or f"Test {platform} app", "--platform", platform]
        for uri in redirect_uris or []:
            args += ["--redirect-uri", uri]
        for scope in scopes or []:
            args += ["--scope", scope]
        for grant in grants or []:
            args += ["--grant", grant]
        data: dict[str, Any] = json.loads(self.cli(*args, "--json").stdout)
        return data

    def user(self) -> tuple[str, str]:
        """A user who can log in (created once per server)."""
        if self._user_email is None:
            email = f"user-{secrets.token_hex(4)}@example.com"
            self.cli("users", "create", "--email", email, "--password", self._password)
            self._user_email = email
        return self._user_email, self._password

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, **kwargs)

    def client_credentials_token(self, app: dict[str, Any], scope: str | None = None) -> str:
        """An access token for ``app`` (as ``create_app`` answers it) by the client_credentials
        grant, from a fresh client; ``scope`` None asks for none (the app's own)."""
        data = {"grant_type": "client_credentials"}
        if scope is not None:
            data["scope"] = scope
        with self.client() as http:
            answer = http.post(
                "/ws/oauth/token", data=data, auth=(app["client_id"], app["client_secret"])
            )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def log_text(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_env(database_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINJA_OAUTH_")}
    env.update(
        NINJA_OAUTH_DATABASE_URL=database_url,
        NINJA_OAUTH_SECRET_KEY="test-secret-key-" + "k" * 32,
        NINJA_OAUTH_ISSUER=f"http://127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_server(
    database_url: str,
    workdir: Path,
    *,
    workers: int = 1,
    port: int | None = None,
    demo: bool = False,
    env: dict[str, str] | None = None,
    **settings: str,
) -> LiveServer:
    """Start `ninja-oauth serve` and wait until it answers (at most 30 s)."""
    port = port or free_port()
    full_env = env or server_env(database_url, port, **settings)
    log_path = workdir / f"serve-{port}.log"
    args = [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if demo:
        args.append("--demo")
    with log_path.open("wb") as log:
        process = subprocess.Popen(args, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    live = LiveServer(f"http://127.0.0.1:{port}", full_env, workdir, process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ninja-oauth serve exited early:\n{live.log_text()}")
        try:
            if (
                httpx.get(
                    live.base_url + "/.well-known/oauth-authorization-server", timeout=1
                ).status_code
                == 200
            ):
                return live
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    live.stop()
    raise RuntimeError(f"ninja-oauth serve did not start in 30 s:\n{live.log_text()}")
