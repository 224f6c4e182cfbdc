"""Sealed values (ninja_oauth/sealed.py): a webhook's custom header values are stored sealed,
and open only under the key, purpose and context they were sealed with."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.sealed import WEBHOOK_HEADERS, SecretBox

KEY = b"k" * 32
CONTEXT = "app-1\nauthorization"


def box(key: bytes = KEY, purpose: str = WEBHOOK_HEADERS) -> SecretBox:
    return SecretBox(SecretHasher(key).subkey(purpose))


def test_a_sealed_value_opens_to_what_was_sealed_and_shows_nothing_of_it() -> None:
    sealed = box().seal("Bearer s3cret", CONTEXT)
    assert "s3cret" not in sealed and sealed.startswith("v1.")
    assert box().open(sealed, CONTEXT) == "Bearer s3cret"
    # A fresh nonce each time: two seals of one value differ.
    assert box().seal("Bearer s3cret", CONTEXT) != sealed
    assert "k" * 8 not in repr(box())


def _flip_last(sealed: str) -> str:
    return sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]


@pytest.mark.parametrize(
    "attempt",
    [
        lambda sealed: box().open(sealed, "app-2\nauthorization"),  # copied to another row
        lambda sealed: box(b"x" * 32).open(sealed, CONTEXT),  # the secret key changed
        lambda sealed: box(purpose="other").open(sealed, CONTEXT),
        lambda sealed: box().open(_flip_last(sealed), CONTEXT),  # altered
        lambda sealed: box().open("Bearer s3cret", CONTEXT),  # never sealed
        lambda sealed: box().open("v1.%%%", CONTEXT),
        lambda sealed: box().open("v1.", CONTEXT),
    ],
    ids=["context", "key", "purpose", "altered", "plain", "garbage", "empty"],
)
def test_anything_else_is_refused_with_one_clear_error(attempt: Callable[[str], str]) -> None:
    sealed = box().seal("Bearer s3cret", CONTEXT)
    with pytest.raises(ValueError, match=r"^not sealed under this secret key$"):
        attempt(sealed)
