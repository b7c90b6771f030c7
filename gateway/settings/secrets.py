"""Secrets from the environment variables config.yaml names; never logged, never stored."""

from __future__ import annotations

import os
import secrets as _secrets
from collections.abc import Mapping

from adapters._http import Credentials
from gateway.settings.config import AuthConfig


def auth_env_names(auth: AuthConfig) -> dict[str, str]:
    """Secret name -> environment variable, e.g. ``{"token": "LEO_TOKEN"}``."""
    if auth.basic is not None:
        return {"username": auth.basic.username_env, "password": auth.basic.password_env}
    scheme = auth.bearer or auth.token
    assert scheme is not None
    return {"token": scheme.token_env}


def resolve(auth: AuthConfig, env: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """The secret values, or None when any variable is unset."""
    env = os.environ if env is None else env
    values = {name: env.get(var) for name, var in auth_env_names(auth).items()}
    if any(v is None for v in values.values()):
        return None
    return {k: v for k, v in values.items() if v is not None}


def generate(auth: AuthConfig) -> dict[str, str]:
    return {
        name: ("pohub" if name == "username" else _secrets.token_urlsafe(24))
        for name in auth_env_names(auth)
    }


def credentials(auth: AuthConfig | None, values: Mapping[str, str] | None) -> Credentials:
    """What the hub's client sends for ``auth``."""
    if auth is None or values is None:
        return Credentials()
    if auth.basic is not None:
        return Credentials.basic(values["username"], values["password"])
    scheme = auth.bearer or auth.token
    assert scheme is not None
    prefix = scheme.scheme or ("Bearer" if auth.bearer is not None else None)
    return Credentials.token(values["token"], scheme.header, prefix)
