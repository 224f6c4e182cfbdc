"""Every `ninja-oauth` command in one app: serve, check, apps, users, consents, audit, demo-data,
and the client commands."""

from __future__ import annotations

from ninja_oauth.cli import admin_commands, apps, check, client_commands, new_app, serve, users

app = new_app()
serve.register(app)
check.register(app)
client_commands.register(app)
app.add_typer(apps.app, name="apps")
app.add_typer(users.app, name="users")
admin_commands.register(app)
