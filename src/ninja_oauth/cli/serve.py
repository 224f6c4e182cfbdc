"""`ninja-oauth serve` and `ninja-oauth demo-data`."""

from __future__ import annotations

import logging
import os

import typer

from ninja_oauth.cli.common import fail, load, opened
from ninja_oauth.store.demo import DemoCredentials, ensure_demo


def _print_demo(creds: DemoCredentials, issuer: str) -> None:
    typer.echo("Demo data (derived from the secret key; printed on every start):")
    typer.echo(f"  admin login   {creds.admin_email} / {creds.admin_password}")
    for app, secret in creds.apps:
        typer.echo(f"  {app.platform.value:12}  client_id={app.client_id}")
        if secret:
            typer.echo(f"{'':16}client_secret={secret}")
        for uri in app.redirect_uris:
            typer.echo(f"{'':16}redirect_uri={uri}")
    typer.echo(f"  token endpoint {issuer}/ws/oauth/token   API {issuer}/v2/organizations")


def _load_api_demo(ctx: object) -> bool:
    try:
        from ninja_oauth.store.demo_api import load_demo_api_data
    except ImportError:
        return False
    return bool(load_demo_api_data(ctx.store))  # type: ignore[attr-defined]


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8080, "--port", help="Port to listen on."),
        workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
        demo: bool = typer.Option(False, "--demo", help="Create (once) and print demo data."),
        access_log: bool = typer.Option(
            False,
            "--access-log",
            help="Log each request: method, path (never the query), status, time "
            "(also NINJA_OAUTH_ACCESS_LOG=true).",
        ),
    ) -> None:
        """Migrate the database if needed and serve everything on one port."""
        if access_log:
            os.environ["NINJA_OAUTH_ACCESS_LOG"] = "true"
        issuer_default = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        if "NINJA_OAUTH_ISSUER" not in os.environ:
            os.environ["NINJA_OAUTH_ISSUER"] = issuer_default
        settings = load()
        # The parent migrates and creates the key before workers start (DESIGN §6); workers
        # read the same values from the environment it exports.
        with opened(settings) as ctx:
            if demo:
                with ctx.store.transaction():
                    creds = ensure_demo(ctx.repos, ctx.hasher)
                _load_api_demo(ctx)
                _print_demo(creds, settings.issuer)
        os.environ["NINJA_OAUTH_DATABASE_URL"] = settings.url
        os.environ["NINJA_OAUTH_SECRET_KEY"] = settings.key_bytes.decode()
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        import uvicorn

        try:
            uvicorn.run(
                "ninja_oauth.web:app_factory",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                access_log=False,  # ours logs paths without query strings (web/security.py)
                log_level="info",
                server_header=False,
            )
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc.strerror}")

    @app.command("demo-data")
    def demo_data() -> None:
        """Load the Public API demo data (organizations, devices, ...) alone."""
        with opened() as ctx:
            loaded = _load_api_demo(ctx)
        typer.echo("demo data loaded" if loaded else "demo data already present")
