"""The protocol core: Authlib plus the NinjaOne rules. No web framework and no SQL in here."""
