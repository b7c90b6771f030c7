"""Where alerts go: a webhook (signed the Standard Webhooks way) or an SMTP server.

Secrets (a ``whsec_`` signing secret, a webhook URL that is itself a secret, an SMTP
password) come from environment variables and are never logged: a failure is logged with
the channel's name and the error's type and status only (an HTTP error's text names its URL).
Mail is sent with the standard library on a worker thread, so the event loop never waits on
an SMTP server.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import smtplib
import ssl
import time
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from gateway.alerts import payload
from gateway.settings.config import EmailAlert, WebhookAlert

SECRET_PREFIX = "whsec_"


class Channel(Protocol):
    name: str
    """For logs: the kind and host, never a URL path or a credential."""
    kind: str

    async def send(self, item: dict[str, Any]) -> None: ...


def signing_key(secret: str) -> bytes:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of the key bytes."""
    raw = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` (standardwebhooks.com)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _env(env: Mapping[str, str], name: str | None, what: str) -> str | None:
    if name is None:
        return None
    value = env.get(name)
    if not value:
        raise ValueError(f"alerts: {what} variable {name} is not set")
    return value


class Webhook:
    kind = "webhook"

    def __init__(
        self, cfg: WebhookAlert, env: Mapping[str, str], client: httpx.AsyncClient
    ) -> None:
        self.cfg, self.client = cfg, client
        self.url = cfg.url or _env(env, cfg.url_env, "webhook URL") or ""
        secret = _env(env, cfg.secret_env, "webhook secret")
        self.key = signing_key(secret) if secret else None
        self.name = f"webhook {urlsplit(self.url).hostname or '?'} ({cfg.format})"

    async def send(self, item: dict[str, Any]) -> None:
        body = payload.body(item, self.cfg.format)
        now = int(time.time())
        headers = {"Content-Type": "application/json", "webhook-id": item["id"],
                   "webhook-timestamp": str(now)}  # fmt: skip
        if self.key is not None:
            headers["webhook-signature"] = sign(self.key, item["id"], now, body)
        reply = await self.client.post(self.url, content=body, headers=headers,
                                       timeout=self.cfg.timeout_s)  # fmt: skip
        reply.raise_for_status()


class Email:
    kind = "email"

    def __init__(self, cfg: EmailAlert, env: Mapping[str, str]) -> None:
        self.cfg = cfg
        self.user = _env(env, cfg.username_env, "SMTP user")
        self.password = _env(env, cfg.password_env, "SMTP password")
        self.name = f"email via {cfg.host}:{cfg.port}"

    async def send(self, item: dict[str, Any]) -> None:
        message = EmailMessage()
        message["Subject"] = payload.subject(item)
        message["From"] = self.cfg.from_
        message["To"] = ", ".join(self.cfg.to)
        message["Message-ID"] = f"<{item['id']}@pohub>"
        message.set_content(payload.text(item))
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        cfg = self.cfg
        context = ssl.create_default_context()
        smtp = (
            smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s, context=context)
            if cfg.ssl
            else smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
        )
        with smtp:
            if cfg.starttls and not cfg.ssl:
                smtp.starttls(context=context)
            if self.user is not None and self.password is not None:
                smtp.login(self.user, self.password)
            smtp.send_message(message)
