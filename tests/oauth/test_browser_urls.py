"""Paths as a browser reads them before it picks the cookies to send."""

from __future__ import annotations

import pytest

from ninja_oauth.oauth import browser_urls


@pytest.mark.parametrize(
    ("path", "resolved"),
    [
        ("/x/../ws/oauth/cb", "/ws/oauth/cb"),
        ("/x/%2e%2e/admin/cb", "/admin/cb"),
        ("/x/%2E./account", "/account"),
        ("/a/./b/../../admin", "/admin"),
        ("/x\\..\\ws/oauth", "/ws/oauth"),
        ("/../ws/oauth", "/ws/oauth"),
        ("", "/"),
        ("/cb..x/v1.2", "/cb..x/v1.2"),
    ],
)
def test_dot_segments_are_resolved_as_a_browser_resolves_them(path: str, resolved: str) -> None:
    assert browser_urls.resolved_path(path) == resolved
    assert browser_urls.has_dot_segments(path) is (resolved != (path or "/"))
