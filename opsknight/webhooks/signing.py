"""Secrets and signatures: the seed's ``X-OpsKnight-Signature`` and Standard Webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook as StandardWebhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def hmac_hex(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of the body, keyed with the secret string as shown."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def opsknight_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>``."""
    return f"sha256={hmac_hex(secret, body)}"


def signed_headers(
    secrets_: list[str], message_id: str, event: str, delivery_id: str, sent_at: datetime,
    body: bytes,
) -> dict[str, str]:  # fmt: skip
    """Every header of a delivery. With two secrets (a rotation in progress) each
    signature header carries one signature per secret, the newest first."""
    timestamp = str(int(sent_at.timestamp()))
    text = body.decode()
    return {
        "Content-Type": "application/json",
        "User-Agent": "OpsKnight-Webhooks/1",
        "X-OpsKnight-Event": event,
        "X-OpsKnight-Delivery": delivery_id,
        "X-OpsKnight-Timestamp": timestamp,
        "X-OpsKnight-Signature": ",".join(opsknight_signature(s, body) for s in secrets_),
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": " ".join(
            StandardWebhook(s).sign(message_id, sent_at, text) for s in secrets_
        ),
    }
