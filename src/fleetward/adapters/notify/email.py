"""E-mail over SMTP with aiosmtplib (FLEETWARD_SMTP_*, docs/configuration.md).

A failure the server or the network may get over (connection refused, a time-out,
a 4xx answer) is retried by the outbox; a 5xx answer (the address refused, say)
or no SMTP server configured at all fails the copy for good, with the reason on
the notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from fleetward.domain.jobs import JobFailed
from fleetward.domain.notifications import Email, one_line

NOT_CONFIGURED = (
    "e-mail is not configured on this server: set FLEETWARD_SMTP_HOST (docs/configuration.md)"
)
# A server that accepts the connection and then says nothing must not hold the job.
TIMEOUT_S = 30.0
IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    username: str
    password: str
    sender: str
    starttls: bool


class SmtpMailer:
    def __init__(self, settings: SmtpSettings, timeout: float = TIMEOUT_S) -> None:
        self.settings = settings
        self.timeout = timeout

    def message(self, to: str, email: Email) -> EmailMessage:
        message = EmailMessage()
        # one_line() again: nothing a sender typed may start a header of its own.
        message["Subject"] = one_line(email.subject, 250)
        message["From"] = one_line(self.settings.sender, 250)
        message["To"] = one_line(to, 254)
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(domain="fleetward")
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    async def send(self, to: str, email: Email) -> None:
        s = self.settings
        if not s.host:
            raise JobFailed(NOT_CONFIGURED, permanent=True)
        implicit_tls = s.port == IMPLICIT_TLS_PORT
        try:
            await aiosmtplib.send(
                self.message(to, email),
                hostname=s.host,
                port=s.port,
                username=s.username or None,
                password=s.password or None,
                use_tls=implicit_tls,
                start_tls=False if implicit_tls else s.starttls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            raise JobFailed(
                f"the SMTP server refused {to}: {error}",
                status_code=codes[0] if codes else None,
                permanent=all(code >= 500 for code in codes),
            ) from None
        except aiosmtplib.SMTPResponseException as error:
            raise JobFailed(
                f"the SMTP server answered {error.code}: {error.message}",
                status_code=error.code,
                permanent=error.code >= 500,
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise JobFailed(f"SMTP {s.host}:{s.port}: {type(error).__name__}: {error}") from None
