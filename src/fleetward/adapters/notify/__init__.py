"""Senders of notifications' copies: e-mail over SMTP, chat over incoming webhooks."""
