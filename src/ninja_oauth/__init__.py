"""ninja-oauth: the NinjaOne OAuth 2.0 authorization system, self-hosted."""

__version__ = "0.1.0"
