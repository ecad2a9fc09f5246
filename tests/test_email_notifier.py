"""Tests for notifiers.email against a loopback aiosmtpd sink."""

from __future__ import annotations

import email
import email.policy
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from email.header import decode_header, make_header

import pytest

from hokoku.notifiers.base import DeliveryError, Notifier, OutgoingMessage
from hokoku.notifiers.email import EmailNotifier, build_email, message_id_for
from tests.smtp_sink import SmtpSink, closed_port, self_signed_contexts

JST = timezone(timedelta(hours=9), "JST")
NOW = datetime(2026, 4, 1, 10, 30, tzinfo=JST)
SUBJECT_JA = "【要対応】個人情報漏えい事案 INC-1 の第一報（保護管理者確認）"
BODY_JA = "山田 太郎 様\n\nUSBメモリの紛失が報告されました。\n「確認しました」を押してください。\n"
HOSTILE = "<script>alert(1)</script><!channel> <@U123> &amp;"


@pytest.fixture
def smtp_server():
    with SmtpSink() as sink:
        yield sink


def text_of(part) -> str:
    """Decoded content of a text part with MIME's canonical CRLF line ends normalised."""
    return part.get_content().replace("\r\n", "\n")


def make_notifier(port: int, **kwargs) -> EmailNotifier:
    kwargs.setdefault("mail_from", "Hokoku <hokoku@example.ac.jp>")
    return EmailNotifier("127.0.0.1", port, timeout=2, local_hostname="hokoku.test", clock=lambda: NOW, **kwargs)


def make_message(**overrides) -> OutgoingMessage:
    fields = dict(
        idempotency_key="inc-1:detect:notify:yamada@example.ac.jp",
        channel="email",
        kind="notify",
        lang="ja",
        recipient_email="yamada@example.ac.jp",
        recipient_name="山田 太郎",
        subject=SUBJECT_JA,
        text=BODY_JA,
    )
    fields.update(overrides)
    return OutgoingMessage(**fields)


def test_notifier_satisfies_the_protocol_and_hides_the_password():
    """EmailNotifier is a Notifier on the 'email' channel; repr never shows the password."""
    notifier = make_notifier(25, username="hokoku", password="s3cret-pw", security="starttls")
    assert isinstance(notifier, Notifier)
    assert notifier.channel == "email"
    assert "s3cret-pw" not in repr(notifier)
    assert "hokoku" in repr(notifier)


def test_japanese_subject_is_decoded_by_the_receiver(smtp_server):
    """The Subject travels as RFC 2047 ASCII and decodes back to the original Japanese."""
    make_notifier(smtp_server.port).send(make_message())

    received = smtp_server.received[0]
    assert received.message["Subject"] == SUBJECT_JA
    raw_subject = email.message_from_bytes(received.raw, policy=email.policy.compat32)["Subject"]
    assert raw_subject.isascii() and "=?utf-8?" in raw_subject.lower()
    assert str(make_header(decode_header(raw_subject))) == SUBJECT_JA
    assert received.message["To"].addresses[0].display_name == "山田 太郎"


def test_japanese_body_arrives_intact_as_utf8(smtp_server):
    """The text part is UTF-8 and its content is exactly the message text."""
    make_notifier(smtp_server.port).send(make_message())

    received = smtp_server.received[0]
    part = received.message.get_body(("plain",))
    assert part.get_content_charset() == "utf-8"
    assert text_of(part) == BODY_JA
    assert received.rcpt_tos == ["yamada@example.ac.jp"]
    assert received.mail_from == "hokoku@example.ac.jp"


def test_headers_carry_date_from_clock_and_idempotency_key(smtp_server):
    """Date comes from the injected clock; the idempotency key is in its own header."""
    make_notifier(smtp_server.port).send(make_message())

    msg = smtp_server.messages[0]
    assert msg["Date"].datetime == NOW
    assert msg["X-Hokoku-Idempotency-Key"] == "inc-1:detect:notify:yamada@example.ac.jp"
    assert msg["From"].addresses[0].addr_spec == "hokoku@example.ac.jp"


def test_message_id_is_deterministic_from_the_key(smtp_server):
    """Two sends with one key share a Message-ID (sha256 prefix); another key gets another."""
    notifier = make_notifier(smtp_server.port)
    first = notifier.send(make_message())
    again = notifier.send(make_message())
    other = notifier.send(make_message(idempotency_key="other"))

    expected = "<" + hashlib.sha256(b"inc-1:detect:notify:yamada@example.ac.jp").hexdigest()[:32] + "@hokoku>"
    assert message_id_for("inc-1:detect:notify:yamada@example.ac.jp") == expected
    assert [m["Message-ID"] for m in smtp_server.messages] == [expected, expected, message_id_for("other")]
    assert first.provider_id == again.provider_id == f"email:{expected}"
    assert other.provider_id != first.provider_id


def test_html_alternative_is_sent_when_given(smtp_server):
    """message.html becomes a text/html alternative next to the text part."""
    make_notifier(smtp_server.port).send(make_message(html="<p>山田 太郎 様</p>"))

    msg = smtp_server.messages[0]
    assert msg.get_content_type() == "multipart/alternative"
    assert text_of(msg.get_body(("html",))) == "<p>山田 太郎 様</p>\n"
    assert text_of(msg.get_body(("plain",))) == BODY_JA


def test_hostile_text_stays_literal_in_the_text_part(smtp_server):
    """User text with tags and mentions is delivered byte-for-byte, not interpreted."""
    make_notifier(smtp_server.port).send(make_message(text=HOSTILE))

    msg = smtp_server.messages[0]
    assert msg.get_content_type() == "text/plain"
    assert text_of(msg) == HOSTILE + "\n"


def test_line_breaks_in_subject_cannot_inject_headers(smtp_server):
    """CR/LF in the subject are folded away instead of starting a new header."""
    make_notifier(smtp_server.port).send(make_message(subject="件名\r\nBcc: victim@example.com"))

    msg = smtp_server.messages[0]
    assert msg["Bcc"] is None
    assert msg["Subject"] == "件名 Bcc: victim@example.com"


def test_refused_connection_is_transient():
    """Nobody listening on the port is a transient DeliveryError."""
    with pytest.raises(DeliveryError) as caught:
        make_notifier(closed_port()).send(make_message())
    assert caught.value.permanent is False


def test_recipient_refused_with_550_is_permanent(smtp_server):
    """A 5xx answer to RCPT TO is permanent and nothing is delivered."""
    smtp_server.refuse("yamada@example.ac.jp", "550 5.1.1 No such user")

    with pytest.raises(DeliveryError) as caught:
        make_notifier(smtp_server.port).send(make_message())

    assert caught.value.permanent is True
    assert "550" in str(caught.value)
    assert smtp_server.received == []


def test_recipient_refused_with_451_is_transient(smtp_server):
    """A 4xx answer to RCPT TO is transient."""
    smtp_server.refuse("yamada@example.ac.jp", "451 4.3.0 Try again later")

    with pytest.raises(DeliveryError) as caught:
        make_notifier(smtp_server.port).send(make_message())
    assert caught.value.permanent is False


def test_login_with_right_password_delivers():
    """With username set the notifier logs in and the message is accepted."""
    with SmtpSink(credentials=("hokoku", "s3cret-pw")) as sink:
        make_notifier(sink.port, username="hokoku", password="s3cret-pw", allow_plaintext_auth=True).send(
            make_message()
        )
        assert len(sink.received) == 1


def test_wrong_password_is_permanent_and_not_leaked():
    """An authentication failure is permanent and its message does not contain the password."""
    with SmtpSink(credentials=("hokoku", "s3cret-pw")) as sink:
        with pytest.raises(DeliveryError) as caught:
            make_notifier(sink.port, username="hokoku", password="wrong-pw", allow_plaintext_auth=True).send(
                make_message()
            )
        assert sink.received == []
    assert caught.value.permanent is True
    assert "wrong-pw" not in str(caught.value)


def test_starttls_delivers_over_tls():
    """security='starttls' upgrades the session (the sink refuses mail without it)."""
    server_ctx, client_ctx = self_signed_contexts()
    with SmtpSink(starttls_context=server_ctx) as sink:
        make_notifier(sink.port, security="starttls", ssl_context=client_ctx).send(make_message())
        assert sink.messages[0]["Subject"] == SUBJECT_JA


def test_implicit_tls_delivers():
    """security='ssl' speaks SMTP inside TLS from the first byte."""
    server_ctx, client_ctx = self_signed_contexts()
    with SmtpSink(implicit_tls_context=server_ctx) as sink:
        make_notifier(sink.port, security="ssl", ssl_context=client_ctx).send(make_message())
        assert len(sink.received) == 1


def test_untrusted_certificate_is_permanent():
    """STARTTLS to a server whose certificate is not trusted fails permanently, unsent."""
    server_ctx, _ = self_signed_contexts()
    with SmtpSink(starttls_context=server_ctx) as sink:
        with pytest.raises(DeliveryError) as caught:
            make_notifier(sink.port, security="starttls").send(make_message())
        assert sink.received == []
    assert caught.value.permanent is True


def test_invalid_recipient_address_is_permanent():
    """An address the email package cannot parse fails before any connection."""
    with pytest.raises(DeliveryError) as caught:
        make_notifier(closed_port()).send(make_message(recipient_email="not an address@@"))
    assert caught.value.permanent is True


def test_build_email_is_pure():
    """build_email() needs no server: same input, same bytes."""
    one = build_email(make_message(), mail_from="hokoku@example.ac.jp", now=NOW).as_bytes()
    two = build_email(make_message(), mail_from="hokoku@example.ac.jp", now=NOW).as_bytes()
    assert one == two
    assert b"\r\n" in one  # SMTP line endings


def test_smtp_auth_without_tls_is_refused_unless_explicitly_allowed(monkeypatch, hokoku_home):
    """A username with HOKOKU_SMTP_SECURITY=none would send the password in clear: refused when
    the notifier is made (one-line ConfigError naming the fix); HOKOKU_SMTP_ALLOW_PLAINTEXT_AUTH=1
    accepts the risk."""
    from hokoku.config.settings import Settings
    from hokoku.core.exceptions import ConfigError
    from hokoku.notifiers.email import PlaintextAuthRefused
    from hokoku.notifiers.registry import build_notifiers

    with pytest.raises(PlaintextAuthRefused, match="HOKOKU_SMTP_SECURITY"):
        make_notifier(25, username="hokoku", password="s3cret-pw")
    monkeypatch.setenv("HOKOKU_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HOKOKU_SMTP_USERNAME", "hokoku")
    monkeypatch.setenv("HOKOKU_SMTP_PASSWORD", "s3cret-pw")
    with pytest.raises(ConfigError) as caught:
        build_notifiers(Settings())
    assert "without TLS" in str(caught.value) and "s3cret-pw" not in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1
    monkeypatch.setenv("HOKOKU_SMTP_ALLOW_PLAINTEXT_AUTH", "1")
    assert "email" in build_notifiers(Settings())
    monkeypatch.setenv("HOKOKU_SMTP_ALLOW_PLAINTEXT_AUTH", "0")
    monkeypatch.setenv("HOKOKU_SMTP_SECURITY", "starttls")
    assert "email" in build_notifiers(Settings())


@pytest.mark.parametrize("pad", range(0, 48))
def test_a_subject_with_spaces_in_a_name_survives_a_round_trip_through_a_real_mail_parser(pad):
    """ "吉田 翔" keeps its space wherever the subject is folded (RFC 2047: whitespace between
    encoded-words is dropped, so no word may start or end with a space); parsed back with
    ``email.policy.default``."""
    import email as email_pkg
    import email.policy as email_policy
    from datetime import datetime as _dt
    from datetime import timezone as _tz

    from hokoku.notifiers.base import OutgoingMessage as _Out
    from hokoku.notifiers.email import build_email as _build

    subject = "[hokoku] " + "あ" * pad + " 配信失敗: 吉田 翔 様への通知 の お知らせ"
    msg = _build(
        _Out("k", "email", "delivery_alert", "ja", "yoshida@example.org", "吉田 翔", subject, "本文"),
        mail_from="hokoku <hokoku@example.org>",
        now=_dt(2027, 2, 1, tzinfo=UTC),
    )
    raw = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n"))
    parsed = email_pkg.message_from_bytes(raw, policy=email_policy.default)
    assert parsed["Subject"] == subject


def test_a_subject_with_a_spaced_name_arrives_through_smtp_with_its_spaces(smtp_server):
    """Through aiosmtpd, parsed with ``email.policy.default``: every space of "吉田 翔" kept,
    at several fold positions."""
    subjects = ["[hokoku] " + "あ" * pad + " 吉田 翔 様への通知が届きませんでした" for pad in (1, 2, 7, 8, 12, 23)]
    notifier = make_notifier(smtp_server.port)
    for n, subject in enumerate(subjects):
        notifier.send(make_message(subject=subject, idempotency_key=f"k{n}", recipient_name="吉田 翔"))
    assert [r.message["Subject"] for r in smtp_server.received] == subjects
    assert all(r.message["To"].addresses[0].display_name == "吉田 翔" for r in smtp_server.received)
