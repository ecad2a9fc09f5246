"""A loopback SMTP server (aiosmtpd) that keeps what it receives, for email-notifier tests.

``SmtpSink`` listens on ``127.0.0.1`` on a free port. Received messages are parsed with
``email.policy.default`` and kept in ``sink.messages`` (raw bytes in ``sink.raw``). It can
refuse a recipient with any reply (``sink.refuse("x@example.jp", "550 5.1.1 No such user")``),
require a login (``SmtpSink(credentials=("user", "pw"))``) and offer STARTTLS or implicit TLS
with a throwaway self-signed certificate (:func:`self_signed_contexts`).
``closed_port()`` gives a port nobody listens on (connection refused).
"""

from __future__ import annotations

import datetime as _dt
import email
import email.policy
import ipaddress
import socket
import ssl
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A port with no listener: connecting to it is refused."""
    return free_port()


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        reply = self.sink.refusals.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        self.sink.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, raw))
        return "250 2.0.0 Message accepted"


class SmtpSink:
    """The sink; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        starttls_context: ssl.SSLContext | None = None,
        implicit_tls_context: ssl.SSLContext | None = None,
    ):
        self.port = free_port()
        self.received: list[Received] = []
        self.refusals: dict[str, str] = {}
        self.credentials = credentials
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": self.port, "server_hostname": "sink.test"}
        if credentials is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=starttls_context is not None)
        if starttls_context is not None:
            kwargs.update(tls_context=starttls_context, require_starttls=True)
        if implicit_tls_context is not None:
            kwargs.update(ssl_context=implicit_tls_context)
        self.controller = Controller(_Handler(self), ready_timeout=5, **kwargs)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.credentials is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        )
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    def refuse(self, address: str, reply: str) -> None:
        """Answer ``RCPT TO:<address>`` with ``reply`` (e.g. ``"451 4.3.0 Try later"``)."""
        self.refusals[address.lower()] = reply

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def self_signed_contexts(hostname: str = "127.0.0.1") -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """``(server_context, client_context)`` sharing a fresh self-signed certificate for ``hostname``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = _dt.datetime(2020, 1, 1, tzinfo=_dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _dt.timedelta(days=365 * 30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(hostname))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=cert_pem.decode("ascii"))
    return server, client
