"""What the client commands share: the server and credential options, which server and client a
command means, and one-line errors that never show a secret.

They use the SDK (`ninja_oauth.client`) only: no settings, no database, unlike `common`.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import httpx
import typer

from ninja_oauth.client import InvalidGrant, LoginRequired, NinjaOAuthError, Region, TokenCache
from ninja_oauth.client.errors import redact

P = ParamSpec("P")
R = TypeVar("R")

RegionOption = Annotated[
    Region | None,
    typer.Option(
        "--region",
        envvar="NINJA_REGION",
        case_sensitive=False,
        show_default=False,
        help="NinjaOne region: https://{region}.ninjarmm.com.",
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        envvar="NINJA_BASE_URL",
        metavar="URL",
        show_default=False,
        help="Server base URL instead of a region, e.g. http://127.0.0.1:8080.",
    ),
]
ClientIdOption = Annotated[
    str | None,
    typer.Option(
        "--client-id", envvar="NINJA_CLIENT_ID", metavar="ID", show_default=False, help="Client ID."
    ),
]
ClientSecretOption = Annotated[
    str | None,
    typer.Option(
        "--client-secret",
        envvar="NINJA_CLIENT_SECRET",
        metavar="SECRET",
        show_default=False,
        help="Client secret; prefer the environment variable (flags show in the process list).",
    ),
]
ScopeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--scope", metavar="SCOPE", show_default=False, help="A scope to ask for (repeatable)."
    ),
]


def printable(text: str, keep: str = "") -> str:
    """``text`` with its control and format characters (but those in ``keep``) escaped as
    ``\\x1b`` is: text written by a server must not drive the terminal (an escape sequence
    can retitle it, hide lines or write the clipboard)."""
    return "".join(
        c.encode("unicode_escape").decode("ascii")
        if c not in keep and unicodedata.category(c) in ("Cc", "Cf")
        else c
        for c in text
    )


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr and a non-zero exit.

    Unlike `common.fail`, the message is folded onto one line and its control characters are
    escaped: it may carry a description written by a remote server.
    """
    typer.echo(f"ninja-oauth: {printable(' '.join(message.split()))}", err=True)
    raise typer.Exit(code)


def one_line_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn every failure into one line on stderr with a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        secrets = [os.environ.get("NINJA_CLIENT_SECRET"), kwargs.get("client_secret")]
        known = [s for s in secrets if isinstance(s, str)]
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except LoginRequired as exc:
            fail(redact(f"{exc}. Run `ninja-oauth login`.", known))
        except InvalidGrant as exc:
            suffix = " Run `ninja-oauth login`." if exc.hint else ""
            fail(redact(f"{exc}.{suffix}", known))
        except NinjaOAuthError as exc:
            fail(redact(str(exc), known))
        except (ValueError, httpx.InvalidURL) as exc:
            fail(redact(str(exc), known), code=2)
        except (OSError, httpx.HTTPError) as exc:
            fail(redact(f"{type(exc).__name__}: {exc}", known))
        except KeyboardInterrupt:
            fail("interrupted", code=130)
        except Exception as exc:  # never a stack trace: its locals may hold secrets
            fail(f"unexpected {type(exc).__name__}")

    return wrapper


def named(ctx: typer.Context, name: str) -> bool:
    """Whether the option ``name`` was given on the command line (not by its variable)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def resolve_server(
    ctx: typer.Context, region: Region | None, base_url: str | None
) -> dict[str, Any]:
    """`region` or `base_url`; a flag beats the other's environment variable."""
    if region is not None and base_url is not None:
        from_flag = {name: named(ctx, name) for name in ("region", "base_url")}
        if from_flag["region"] != from_flag["base_url"]:
            return {"region": region} if from_flag["region"] else {"base_url": base_url}
        raise ValueError("give only one of --region (NINJA_REGION) or --base-url (NINJA_BASE_URL)")
    if region is None and base_url is None:
        raise ValueError("give --region (NINJA_REGION) or --base-url (NINJA_BASE_URL)")
    return {"region": region} if region is not None else {"base_url": base_url}


def require(value: str | None, what: str) -> str:
    if not value:
        raise ValueError(f"{what} is required")
    return value


def logged_in_client(
    cache: TokenCache, base_url: str, client_id: str | None, from_flag: bool
) -> str:
    """The client ID given, or the only one logged in to this server. One given by its
    variable (NINJA_CLIENT_ID, often the client-credentials app's) gives way to the one
    logged in when it is not."""
    if client_id and from_flag:
        return client_id
    logged_in = cache.client_ids(base_url)
    if client_id and (client_id in logged_in or not logged_in):
        return client_id
    if not logged_in:
        raise LoginRequired(f"not logged in to {base_url}")
    if len(logged_in) > 1:
        names = ", ".join(logged_in)
        raise ValueError(f"several clients are logged in to {base_url} ({names}): give --client-id")
    return logged_in[0]
