"""Secrets: 256-bit values, keyed digests separated by purpose, constant-time checks."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

import pytest

from ninja_oauth.oauth import secrets as s

HASHER = s.SecretHasher(b"k" * 32)


def test_a_digest_is_the_hmac_sha256_of_purpose_and_value_under_the_key() -> None:
    expected = hmac.new(b"k" * 32, b"client_secret:abc", hashlib.sha256).hexdigest()
    assert HASHER.digest("abc", s.CLIENT_SECRET) == expected
    assert len(expected) == 64
    # Each digest starts from the key and the purpose alone: none carries over into the next.
    other = hmac.new(b"k" * 32, b"client_secret:abcd", hashlib.sha256).hexdigest()
    assert HASHER.digest("abcd", s.CLIENT_SECRET) == other
    assert HASHER.digest("abc", s.CLIENT_SECRET) == expected


def test_digests_of_one_value_differ_by_purpose() -> None:
    purposes = [s.CLIENT_SECRET, s.ACCESS_TOKEN, s.REFRESH_TOKEN, s.CODE, ""]
    digests = {HASHER.digest("same-value", p) for p in purposes}
    assert len(digests) == len(purposes)


def test_a_token_never_verifies_as_a_client_secret() -> None:
    token_digest = HASHER.digest("value", s.ACCESS_TOKEN)
    assert HASHER.verify("value", token_digest, s.ACCESS_TOKEN)
    assert not HASHER.verify("value", token_digest, s.CLIENT_SECRET)


def test_digests_depend_on_the_key() -> None:
    other = s.SecretHasher(b"j" * 32)
    assert other.digest("value", s.CODE) != HASHER.digest("value", s.CODE)
    assert not other.verify("value", HASHER.digest("value", s.CODE), s.CODE)


@pytest.mark.parametrize(
    ("value", "digest", "ok"),
    [
        ("secret", HASHER.digest("secret", s.CLIENT_SECRET), True),
        ("Secret", HASHER.digest("secret", s.CLIENT_SECRET), False),
        ("secret", None, False),
        ("", HASHER.digest("secret", s.CLIENT_SECRET), False),
        ("secret", "", False),
    ],
    ids=["right", "wrong", "no-digest", "empty-value", "empty-digest"],
)
def test_verify_accepts_only_the_value_behind_the_digest(
    value: str, digest: str | None, ok: bool
) -> None:
    assert HASHER.verify(value, digest, s.CLIENT_SECRET) is ok


def test_verify_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("ninja_oauth.oauth.secrets.hmac.compare_digest", spy)
    digest = HASHER.digest("secret", s.CLIENT_SECRET)
    assert HASHER.verify("secret", digest, s.CLIENT_SECRET)
    assert not HASHER.verify("other", digest, s.CLIENT_SECRET)
    assert calls == [(digest, digest), (HASHER.digest("other", s.CLIENT_SECRET), digest)]


def test_the_hasher_never_shows_its_key() -> None:
    hasher = s.SecretHasher(b"super-secret-key-material-000000")
    assert repr(hasher) == "SecretHasher(<key hidden>)"
    assert "super-secret" not in str(hasher)


def test_secrets_are_256_bit_url_safe_and_unique() -> None:
    made = {s.new_secret() for _ in range(200)}
    assert len(made) == 200
    for value in made:
        assert len(value) == 43
        assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_access_tokens_lead_with_their_time_then_256_random_bits() -> None:
    before = time.time_ns() // 1000
    made = [s.new_access_token() for _ in range(200)]
    after = time.time_ns() // 1000
    assert len(set(made)) == 200
    for value in made:
        assert re.fullmatch(r"[0-9a-f]{14}[A-Za-z0-9_-]{43}", value)
        assert before <= int(value[:14], 16) <= after


def test_an_access_tokens_key_leads_with_its_time_so_keys_sort_in_issue_order() -> None:
    tokens = [s.new_access_token() for _ in range(50)]
    keys = [HASHER.access_key(t) for t in tokens]
    assert all(len(k) == 64 and k[:14] == t[:14] for k, t in zip(keys, tokens, strict=True))
    prefixes = [k[:14] for k in keys]  # in issue order (two in one microsecond tie)
    assert prefixes == sorted(prefixes)
    assert len(set(keys)) == 50
    assert HASHER.access_key(tokens[0]) == keys[0]
    assert s.SecretHasher(b"j" * 32).access_key(tokens[0]) != keys[0]


def test_a_forged_time_or_another_format_gives_a_key_that_matches_nothing_issued() -> None:
    token = s.new_access_token()
    forged = f"{int(token[:14], 16) + 1:014x}" + token[14:]
    assert HASHER.access_key(forged)[14:] != HASHER.access_key(token)[14:]
    # Tokens issued before (43 characters) and other strings: the plain digest.
    legacy = s.new_secret()
    assert HASHER.access_key(legacy) == HASHER.digest(legacy, s.ACCESS_TOKEN)
    not_hex = "g" * 14 + token[14:]
    assert HASHER.access_key(not_hex) == HASHER.digest(not_hex, s.ACCESS_TOKEN)


def test_client_ids_and_grant_ids_are_random_and_distinct() -> None:
    assert len({s.new_client_id() for _ in range(100)}) == 100
    grant_ids = {s.new_grant_id() for _ in range(100)}
    assert len(grant_ids) == 100
    assert all(len(g) == 32 and int(g, 16) >= 0 for g in grant_ids)


def test_derived_secrets_are_stable_per_label_and_key() -> None:
    assert HASHER.derive("demo:web") == HASHER.derive("demo:web")
    assert HASHER.derive("demo:web") != HASHER.derive("demo:spa")
    assert s.SecretHasher(b"j" * 32).derive("demo:web") != HASHER.derive("demo:web")
    assert len(HASHER.derive("demo:web")) == 43


def test_a_subkey_is_per_purpose_and_per_key() -> None:
    assert len(HASHER.subkey("webhook_headers")) == 32
    assert HASHER.subkey("webhook_headers") == s.SecretHasher(b"k" * 32).subkey("webhook_headers")
    assert HASHER.subkey("webhook_headers") != HASHER.subkey("other")
    assert HASHER.subkey("webhook_headers") != s.SecretHasher(b"j" * 32).subkey("webhook_headers")


def test_a_client_id_never_starts_with_a_dash_the_commands_would_read_it_as_an_option() -> None:
    # One token_urlsafe in 64 starts with "-": 4000 ids without one would happen by chance
    # about once in 10^27 tries.
    ids = [s.new_client_id() for _ in range(4000)]
    assert not [i for i in ids if i.startswith("-")]
    assert len(set(ids)) == len(ids) and {len(i) for i in ids} == {32}
