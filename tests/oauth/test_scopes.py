"""Scope parameters (RFC 6749 §3.3): parsing, the canonical form, and the consent words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ninja_oauth.oauth.scopes import API_SCOPES, Scope, describe, join_scope, parse_scope


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (None, []),
        ("", []),
        ("   ", []),
        ("monitoring", ["monitoring"]),
        ("control  monitoring", ["control", "monitoring"]),
        ("monitoring control monitoring", ["monitoring", "control"]),
        ("monitoring\tcontrol", ["monitoring", "control"]),
    ],
    ids=["none", "empty", "blanks", "one", "two-spaces", "repeat", "tab"],
)
def test_parse_scope_splits_on_whitespace_keeping_order_and_dropping_repeats(
    value: str | None, parsed: list[str]
) -> None:
    assert parse_scope(value) == parsed


@pytest.mark.parametrize(
    ("scopes", "joined"),
    [
        ([], ""),
        (["control", "monitoring"], "monitoring control"),
        (["offline_access", "management"], "management offline_access"),
        (["zeta", "control", "alpha", "control"], "control alpha zeta"),
    ],
    ids=["empty", "document-order", "offline-access-last", "unknown-after-known-sorted"],
)
def test_join_scope_puts_configured_scopes_first_in_document_order(
    scopes: list[str], joined: str
) -> None:
    assert join_scope(scopes) == joined


def test_the_configured_scopes_are_the_three_of_the_documents() -> None:
    assert [s.value for s in API_SCOPES] == ["monitoring", "management", "control"]
    assert Scope.OFFLINE_ACCESS not in API_SCOPES


def test_every_scope_has_words_for_the_consent_page() -> None:
    assert describe(Scope.MONITORING) == (
        "Read-only access to monitoring data and organization structure"
    )
    assert describe(Scope.CONTROL) == "Remote access to devices via the API"
    assert all(describe(scope) for scope in Scope)


# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_scope_token = st.one_of(
    st.sampled_from([s.value for s in Scope]),
    st.text(
        alphabet=st.characters(
            codec="ascii", min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\'
        ),
        min_size=1,
        max_size=12,
    ),
)


@settings(max_examples=200, database=None)
@given(st.lists(_scope_token, max_size=8))
def test_join_then_parse_gives_back_the_same_set_and_joining_again_changes_nothing(
    scopes: list[str],
) -> None:
    joined = join_scope(scopes)
    parsed = parse_scope(joined)
    assert set(parsed) == set(scopes)
    assert len(parsed) == len(set(scopes))
    assert join_scope(parsed) == joined


@settings(max_examples=200, database=None)
@given(st.lists(_scope_token, max_size=8), st.randoms(use_true_random=False))
def test_the_canonical_form_does_not_depend_on_the_order_asked(
    scopes: list[str], rng: object
) -> None:
    shuffled = list(scopes)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert join_scope(shuffled) == join_scope(scopes)
    assert join_scope(parse_scope(" ".join(shuffled))) == join_scope(scopes)
