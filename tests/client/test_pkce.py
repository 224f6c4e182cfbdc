"""PKCE values (RFC 7636) and the authorization request built from them."""

from __future__ import annotations

import re

from ninja_oauth.client.pkce import (
    PKCE,
    code_challenge_s256,
    generate_code_verifier,
    generate_state,
)


def test_s256_challenge_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    assert code_challenge_s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_verifier_is_43_unreserved_characters_and_fresh_each_time() -> None:
    verifiers = {generate_code_verifier() for _ in range(100)}

    assert len(verifiers) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9\-._~]{43}", v) for v in verifiers)


def test_generated_pair_is_s256_and_its_repr_hides_the_verifier() -> None:
    pair = PKCE.generate()

    assert (pair.method, pair.challenge) == ("S256", code_challenge_s256(pair.verifier))
    assert pair.verifier not in repr(pair)


def test_state_is_unguessable() -> None:
    states = {generate_state() for _ in range(100)}

    assert len(states) == 100 and all(len(s) >= 43 for s in states)
