"""Email channel: one SMTP submission per message, with ``smtplib``.

The message is a :class:`email.message.EmailMessage` built with ``email.policy.SMTP``:

* a UTF-8 ``text/plain`` part (base64, safe for 7-bit relays), plus a ``text/html`` alternative
  when ``OutgoingMessage.html`` is set (the caller produces and escapes that HTML);
* ``Subject`` and display names as RFC 2047 encoded-words, which Japanese mail clients decode;
  CR/LF in the subject is folded to spaces so user text cannot inject headers;
* a deterministic ``Message-ID`` ``<{sha256(idempotency_key)[:32]}@hokoku>``, so a duplicate
  submission after an ambiguous failure is recognisable by receivers, and the key itself in
  ``X-Hokoku-Idempotency-Key``;
* ``Date`` from the injected ``clock``.

``provider_id`` is ``"email:" + Message-ID`` (angle brackets included).

Error mapping (see :func:`map_smtp_error`):

=========================================================  =========
connection refused / reset, timeouts, disconnects           transient
any SMTP reply 4xx (greeting, HELO, MAIL, RCPT, DATA)       transient
recipient refused with 5xx, sender/data refused with 5xx    permanent
authentication failed (535...), STARTTLS/AUTH unsupported   permanent
TLS certificate verification failed                         permanent
an address the email package cannot parse                   permanent
=========================================================  =========

The password is kept private and never appears in ``repr`` or in error messages. SMTP AUTH
over a connection without TLS (``security="none"`` with a username) is refused when the
notifier is made (:class:`PlaintextAuthRefused`), and again before any login, unless
``allow_plaintext_auth`` (``HOKOKU_SMTP_ALLOW_PLAINTEXT_AUTH=1``) says it is wanted.
"""

from __future__ import annotations

import email.errors
import email.policy
import hashlib
import logging
import smtplib
import ssl
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Literal

from hokoku.clock import Clock, utcnow
from hokoku.notifiers.base import DeliveryError, DeliveryResult, OutgoingMessage

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "ssl"]


class PlaintextAuthRefused(ValueError):
    """SMTP AUTH would send the password over a connection without TLS."""


PLAINTEXT_AUTH_MESSAGE = (
    "HOKOKU_SMTP_USERNAME is set but HOKOKU_SMTP_SECURITY is none: the SMTP password would be "
    "sent without TLS; set HOKOKU_SMTP_SECURITY=starttls or ssl "
    "(or HOKOKU_SMTP_ALLOW_PLAINTEXT_AUTH=1 to accept the risk)"
)


def message_id_for(idempotency_key: str) -> str:
    """The deterministic Message-ID of the message with this idempotency key."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@hokoku>"


def _one_line(value: str) -> str:
    """Header-safe: CR/LF (and other line breaks) become single spaces."""
    return " ".join(value.splitlines()).strip()


#: UTF-8 bytes per encoded-word (base64: 4/3 of it, plus 12 for ``=?utf-8?b?...?=``; RFC 2047: ≤ 75).
_WORD_BYTES = 42


def encode_subject(text: str) -> str | None:
    """``text`` as RFC 2047 encoded-words, one per folded line, or None for plain ASCII.

    Whitespace between two encoded-words is not part of the text (RFC 2047 §6.2), so every
    space is kept *inside* a word: a word never starts or ends with one ("吉田 翔" stays "吉田 翔").
    """
    import base64

    if text.isascii():
        return None
    words, chunk = [], ""
    for ch in text:
        if chunk and len((chunk + ch).encode("utf-8")) > _WORD_BYTES:
            joined = chunk + ch  # split at the last place with no space on either side
            cut = next((i for i in range(len(chunk), 0, -1) if joined[i - 1] != " " and joined[i] != " "), None)
            if cut is not None:
                words.append(joined[:cut])
                chunk = joined[cut:]
                continue
        chunk += ch
    if chunk:
        words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words)


def build_email(message: OutgoingMessage, *, mail_from: str, now: datetime) -> EmailMessage:
    """The MIME message for ``message`` (pure; ``now`` is the Date).

    Raises ValueError or ``email.errors.HeaderParseError`` for an unusable address. Text parts
    are in MIME canonical form (CRLF line ends inside the base64), as RFC 2045 asks.
    """
    msg = EmailMessage(policy=email.policy.SMTP.clone(refold_source="none"))
    subject = _one_line(message.subject)
    encoded = encode_subject(subject)
    if encoded is None:
        msg["Subject"] = subject
    else:  # stored as written: Python's folding may put a space between two encoded-words (lost)
        msg.set_raw("Subject", encoded)
    msg["From"] = mail_from
    msg["To"] = Address(display_name=_one_line(message.recipient_name), addr_spec=message.recipient_email.strip())
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id_for(message.idempotency_key)
    msg["X-Hokoku-Idempotency-Key"] = _one_line(message.idempotency_key)
    msg.set_content(message.text, charset="utf-8", cte="base64")
    if message.html is not None:
        msg.add_alternative(message.html, subtype="html", charset="utf-8", cte="base64")
    return msg


def _code_error(what: str, code: int, detail: object) -> DeliveryError:
    return DeliveryError(f"smtp {what}: {code} {detail!s}", permanent=500 <= code < 600)


def _text(raw: object) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def map_smtp_error(exc: BaseException) -> DeliveryError:
    """Translate an ``smtplib`` / socket / ssl exception into a DeliveryError."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(f"smtp authentication failed: {exc.smtp_code}", permanent=True)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"smtp server does not support a required extension: {exc}", permanent=True)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        permanent = bool(codes) and all(500 <= c < 600 for c in codes)
        detail = "; ".join(f"{c} {_text(m)}" for c, m in exc.recipients.values())
        return DeliveryError(f"smtp recipient refused: {detail}", permanent=permanent)
    if isinstance(exc, smtplib.SMTPConnectError):  # refused at the greeting: the relay may recover
        return DeliveryError(f"smtp connect refused: {exc.smtp_code} {_text(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPHeloError):
        return DeliveryError(f"smtp HELO refused: {exc.smtp_code} {_text(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPResponseException):  # sender refused, data refused, ...
        return _code_error(type(exc).__name__, exc.smtp_code, _text(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"smtp server disconnected: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryError(f"smtp TLS certificate rejected: {exc.verify_message}", permanent=True)
    if isinstance(exc, (OSError, smtplib.SMTPException)):  # refused, reset, timeouts, other TLS errors
        return DeliveryError(f"smtp connection failed: {type(exc).__name__}: {exc}")
    return DeliveryError(f"smtp: {type(exc).__name__}: {exc}")


class EmailNotifier:
    """Submits :class:`OutgoingMessage` to an SMTP relay; see the module docstring."""

    channel = "email"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        mail_from: str,
        timeout: float = 10,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        clock: Clock = utcnow,
        allow_plaintext_auth: bool = False,
    ):
        if security not in ("none", "starttls", "ssl"):
            raise ValueError(f"security must be none, starttls or ssl, not {security!r}")
        if username is not None and security == "none" and not allow_plaintext_auth:
            raise PlaintextAuthRefused(PLAINTEXT_AUTH_MESSAGE)
        self.allow_plaintext_auth = allow_plaintext_auth
        self.host = host
        self.port = port
        self.security: Security = security
        self.username = username
        self.__password = password
        self.mail_from = mail_from
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname
        self.clock = clock
        self.envelope_from = parseaddr(mail_from)[1] or mail_from

    def __repr__(self) -> str:
        secret = "'***'" if self.__password is not None else "None"
        return (
            f"EmailNotifier(host={self.host!r}, port={self.port!r}, security={self.security!r}, "
            f"username={self.username!r}, password={secret}, mail_from={self.mail_from!r})"
        )

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self._context(),
            )
        smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.ehlo()
                smtp.starttls(context=self._context())
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        """Submit ``message``; the relay's acceptance of the DATA is the delivery."""
        try:
            msg = build_email(message, mail_from=self.mail_from, now=self.clock())
        except (ValueError, TypeError, email.errors.MessageError) as exc:
            raise DeliveryError(f"cannot build email: {exc}", permanent=True) from exc
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise map_smtp_error(exc) from exc
        try:
            if self.username is not None:
                if self.security == "none" and not self.allow_plaintext_auth:
                    raise DeliveryError(PLAINTEXT_AUTH_MESSAGE, permanent=True)
                smtp.login(self.username, self.__password or "")
            smtp.send_message(msg, from_addr=self.envelope_from, to_addrs=[message.recipient_email.strip()])
        except (OSError, smtplib.SMTPException) as exc:
            smtp.close()
            raise map_smtp_error(exc) from exc
        try:  # the message is accepted: a failing QUIT must not turn it into a failure
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
        return DeliveryResult(provider_id=f"email:{msg['Message-ID']}")
