"""The protocol endpoints' form parser reads every body as ``urllib.parse.parse_qsl`` does."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ninja_oauth.web.authlib_adapter import MAX_FORM_FIELDS, FormTooLarge, _form_items

# Bytes that matter to the format, often; any other byte now and then.
_PIECES = st.sampled_from([b"&", b"=", b"+", b"%", b"%2", b"%20", b"%e2%82%ac", b"%ff", b"a", b";"])
_BODIES = st.lists(st.one_of(_PIECES, st.binary(max_size=3)), max_size=30).map(b"".join)


def _reference(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(
        body.decode("latin-1"),
        keep_blank_values=True,
        errors="replace",
        max_num_fields=MAX_FORM_FIELDS,
    )


@settings(max_examples=400, deadline=None, database=None)
@given(_BODIES)
def test_every_body_reads_as_parse_qsl_reads_it(body: bytes) -> None:
    assert _form_items(body) == _reference(body)


@pytest.mark.parametrize(
    ("body", "items"),
    [
        (
            b"grant_type=client_credentials&scope=monitoring",
            [
                ("grant_type", "client_credentials"),
                ("scope", "monitoring"),
            ],
        ),
        (
            b"scope=monitoring+management&x=%E2%82%AC",
            [("scope", "monitoring management"), ("x", "€")],
        ),
        (b"&&a&b=&=c&&", [("a", ""), ("b", ""), ("", "c")]),
        (b"a=%zz&b=%ff", [("a", "%zz"), ("b", "\ufffd")]),
    ],
    ids=["plain", "escapes", "empty-and-blank", "bad-escapes"],
)
def test_fields_values_and_escapes(body: bytes, items: list[tuple[str, str]]) -> None:
    assert _form_items(body) == items == _reference(body)


def test_a_body_of_too_many_fields_is_refused_as_parse_qsl_refuses_it() -> None:
    most = b"&".join([b"a=1"] * MAX_FORM_FIELDS)
    assert len(_form_items(most)) == MAX_FORM_FIELDS
    with pytest.raises(FormTooLarge):
        _form_items(most + b"&")
    with pytest.raises(ValueError, match="Max number of fields"):
        _reference(most + b"&")
