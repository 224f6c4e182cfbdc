"""The character sets of the protocol's parameters, and user input made safe for an error
description.

RFC 6749 §5.2 and §4.1.2.1: "Values for the "error_description" parameter MUST NOT include
characters outside the set %x20-21 / %x23-5B / %x5D-7E", and Authlib raises ValueError (a 500)
when one does. So a parameter is checked against its own grammar (RFC 6749 Appendix A) before
anything uses it, and a description that quotes what a caller sent goes through ``quoted``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from authlib.oauth2.rfc6749.errors import InvalidRequestError

# Appendix A: response-char = "_" / DIGIT / ALPHA; response-type = response-name *( SP ... ).
_NAMES = re.compile(r"[A-Za-z0-9_]+(?: [A-Za-z0-9_]+)*")
# Appendix A.4: scope-token = 1*NQCHAR (%x21 / %x23-5B / %x5D-7E), separated by spaces.
_SCOPE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
# Appendix A.5: state = 1*VSCHAR (%x20-7E).
_VSCHAR = re.compile(r"[\x20-\x7e]*")
# RFC 7636 §4.2: code-challenge = 43*128unreserved. (Authlib's own pattern ends in "$", which
# also matches before a final newline.)
_PKCE = re.compile(r"[A-Za-z0-9._~-]{43,128}")

# What each checked parameter may hold, and the sentence that says so.
_GRAMMAR: dict[str, tuple[re.Pattern[str], str]] = {
    "response_type": (_NAMES, "letters, digits and underscores (RFC 6749 Appendix A.3)"),
    # Not in RFC 6749 (OAuth 2.0 Multiple Response Type Encoding Practices); its values are
    # names like response_type's.
    "response_mode": (_NAMES, "letters, digits and underscores: use query or fragment"),
    "scope": (
        _SCOPE,
        "printable ASCII other than the double quote and the backslash, scopes separated by "
        "spaces (RFC 6749 Appendix A.4)",
    ),
    "state": (_VSCHAR, "printable ASCII (RFC 6749 Appendix A.5)"),
    "code_challenge": (
        _PKCE,
        "43 to 128 letters, digits and the characters - . _ ~ (RFC 7636 section 4.2)",
    ),
}

# What the authorization endpoint checks before it looks at anything else (the code grant also
# checks code_challenge); the token endpoint checks its scope (its grant_type is only quoted).
AUTHORIZE_PARAMETERS = ("response_type", "response_mode", "scope", "state")
CODE_PARAMETERS = ("code_challenge",)
TOKEN_PARAMETERS = ("scope",)

_NOT_DESCRIBABLE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
_QUOTED_MAX = 40


def malformed(data: Mapping[str, str], names: Iterable[str]) -> str | None:
    """The first of ``names`` whose value in ``data`` breaks its grammar; None if all hold. An
    empty value counts as absent: the grants say what a missing one means."""
    for name in names:
        if not valid(name, data.get(name)):
            return name
    return None


def valid(name: str, value: str | None) -> bool:
    """Whether ``value`` (absent or empty counts as valid) follows the grammar of ``name``."""
    return not value or _GRAMMAR[name][0].fullmatch(value) is not None


def malformed_error(name: str, redirect_uri: str | None = None) -> InvalidRequestError:
    """invalid_request naming the parameter and what it may hold; its value is not quoted."""
    return InvalidRequestError(
        f"The '{name}' parameter holds a character it may not: use {_GRAMMAR[name][1]}.",
        redirect_uri=redirect_uri,
    )


def quoted(value: str) -> str:
    """``value`` as an error description may quote it: each character outside the RFC 6749
    description set becomes '?', and a long value is cut."""
    shown = _NOT_DESCRIBABLE.sub("?", value[:_QUOTED_MAX])
    return shown + ("..." if len(value) > _QUOTED_MAX else "")
