"""`ninja-oauth serve` and `ninja-oauth demo-data`."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import typer

from ninja_oauth.cli.common import fail, load, opened
from ninja_oauth.oauth.platforms import Platform
from ninja_oauth.store.demo import DemoCredentials, demo_credentials, ensure_demo


def _print_demo(creds: DemoCredentials, issuer: str) -> None:
    typer.echo(
        "Demo data (derived from the secret key; printed on every start and by "
        "`ninja-oauth demo-data --show`):"
    )
    password = creds.admin_password if creds.admin_password_current else "(changed since)"
    typer.echo(f"  admin login   {creds.admin_email} / {password}")
    for app, secret in creds.apps:
        typer.echo(f"  {app.platform.value:12}  client_id={app.client_id}")
        if secret:
            typer.echo(f"{'':16}client_secret={secret}")
        elif app.confidential:
            typer.echo(f"{'':16}client_secret=(rotated since)")
        for uri in app.redirect_uris:
            typer.echo(f"{'':16}redirect_uri={uri}")
    typer.echo(f"  token endpoint {issuer}/ws/oauth/token   API {issuer}/v2/organizations")
    _print_getting_started(creds, issuer)


def _print_getting_started(creds: DemoCredentials, issuer: str) -> None:
    """Lines to paste into another shell: the client CLI's variables (cli/client_common.py)
    set to the demo API Services app, and the directory that holds `ninja-oauth`."""
    service = [(a, s) for a, s in creds.apps if a.platform is Platform.API_SERVICES]
    typer.echo("")
    typer.echo(f"Getting started: the home page {issuer}/ and the API docs {issuer}/docs;")
    typer.echo("paste these into another shell to call this server with the client CLI:")
    names = [f"NINJA_BASE_URL={shlex.quote(issuer)}"]
    if service:
        app, secret = service[0]
        names.append(f"NINJA_CLIENT_ID={shlex.quote(app.client_id)}")
        if secret:
            names.append(f"NINJA_CLIENT_SECRET={shlex.quote(secret)}")
    typer.echo("  export " + " ".join(names))
    where = _command_directory()
    if where is not None:
        activate = where / "activate"
        hint = f"   # or: source {shlex.quote(str(activate))}" if activate.exists() else ""
        typer.echo(f"  {_path_line(where)}{hint}")
    typer.echo("  ninja-oauth token                    # an access token (client credentials)")
    typer.echo("  ninja-oauth api GET /v2/organizations")


def _path_line(where: Path) -> str:
    text = str(where)
    if any(c in text for c in '"$`\\'):  # not verbatim inside double quotes
        return f'export PATH={shlex.quote(text)}:"$PATH"'
    return f'export PATH="{text}:$PATH"'


def _command_directory() -> Path | None:
    """The directory of the `ninja-oauth` command that is running (the virtualenv's bin)."""
    beside = Path(sys.executable).parent
    if (beside / "ninja-oauth").exists():
        return beside.absolute()
    found = shutil.which("ninja-oauth")
    return Path(found).parent.absolute() if found else None


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
        port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port to listen on."),
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
        from ninja_oauth import serving

        serving.configure_logging()
        try:
            status = serving.serve(
                "ninja_oauth.web:app_factory",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                access_log=False,  # ours logs paths without query strings (web/security.py)
                # The client's address is the socket peer's unless NINJA_OAUTH_TRUSTED_PROXIES
                # names it (web/authlib_adapter.py): uvicorn's own handling would believe any
                # X-Forwarded-For from 127.0.0.1, and a caller there could pick its address.
                proxy_headers=False,
                log_level="info",
                server_header=False,
            )
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc.strerror}")
        if status:
            raise typer.Exit(status)

    @app.command("demo-data")
    def demo_data(
        show: bool = typer.Option(
            False,
            "--show",
            help="Print the demo credentials of `serve --demo` again, re-derived from the "
            "secret key (base URL: NINJA_OAUTH_ISSUER); load nothing.",
        ),
    ) -> None:
        """Load the Public API demo data (organizations, devices, ...) alone."""
        if show:
            settings = load()
            with opened(settings) as ctx:
                creds = demo_credentials(ctx.repos, ctx.hasher)
            if creds is None:
                fail("no demo data in this database: start `ninja-oauth serve --demo` once")
            _print_demo(creds, settings.issuer)
            return
        with opened() as ctx:
            loaded = _load_api_demo(ctx)
        typer.echo("demo data loaded" if loaded else "demo data already present")
