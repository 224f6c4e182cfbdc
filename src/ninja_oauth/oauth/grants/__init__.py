"""One module per grant type, each an Authlib grant with storage hooks and NinjaOne rules."""
