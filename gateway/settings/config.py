"""config.yaml: stores, systems, routes and API keys, with every problem named by line.

Secrets are never literals here: config names environment variables (``*_env``) and the
values are read at start-up. ``${VAR:-default}`` is expanded in any string value.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import ConfigError, ConfigProblem
from core.inbound import SECRET_HEADERS
from core.mapping.loader import YamlProblem, line_of, load_yaml, problems_from

DEFAULT_CONFIG = "config.yaml"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BasicAuth(_Strict):
    username_env: str = Field(description="Variable holding the user name.")
    password_env: str = Field(description="Variable holding the password.")


class TokenAuth(_Strict):
    token_env: str = Field(description="Variable holding the token.")
    header: str = Field(default="Authorization", description="Header the token travels in.")
    scheme: str | None = Field(
        default=None, description="Prefix such as 'Bearer'; none sends the bare token."
    )


class AuthConfig(_Strict):
    """Exactly one of the schemes."""

    basic: BasicAuth | None = None
    bearer: TokenAuth | None = None
    token: TokenAuth | None = None

    @model_validator(mode="after")
    def _one(self) -> AuthConfig:
        if sum(x is not None for x in (self.basic, self.bearer, self.token)) != 1:
            raise ValueError("give exactly one of basic, bearer, token")
        return self


class InboundAuth(_Strict):
    """What the hub accepts from a system: a token (any header) or Basic credentials."""

    token_env: str | None = None
    header: str = "Authorization"
    scheme: str | None = None
    basic: BasicAuth | None = None


class RetryConfig(_Strict):
    schedule: list[float] = Field(
        default=[0, 5, 300, 1800, 7200, 18000, 36000, 36000],
        description="Seconds before each attempt after the first failure (jitter is added).",
    )
    max_age_s: float = Field(default=172_800, description="Give up (dead) after this age.")


class BatchConfig(_Strict):
    """Bulk coalescing for a target whose system takes several POs a request (AppliQloud)."""

    max: int = Field(default=1, ge=1, description="POs per request at most; 1: off.")
    wait_ms: float = Field(
        default=20.0, ge=0, le=10_000,
        description="How long a claimed delivery waits for others to fill its request.",
    )  # fmt: skip


class SystemConfig(_Strict):
    base_url: str | None = Field(default=None, description="Outbound target base URL.")
    auth: AuthConfig | None = Field(default=None, description="How the hub signs in there.")
    inbound_auth: InboundAuth | None = Field(default=None, description="What the hub accepts.")
    timeout_s: float = Field(default=10.0, gt=0, description="Per-request timeout.")
    concurrency: int = Field(default=8, ge=1, description="In-flight deliveries to this target.")
    rate_per_s: float | None = Field(default=None, gt=0, description="Delivery rate cap.")
    retry: RetryConfig = Field(default_factory=RetryConfig)
    batch: BatchConfig | None = Field(
        default=None, description="Several POs per request (bulk targets only); none: off."
    )


class Route(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", description="Source system id.")
    to: list[str] = Field(min_length=1, description="Target system ids.")


class ApiKey(_Strict):
    name: str
    role: Literal["viewer", "operator", "admin"]
    key_env: str


class WebhookAlert(_Strict):
    """A URL that receives each alert as an HTTP POST (Standard Webhooks signed)."""

    url: str | None = Field(default=None, description="Where to POST (or url_env).")
    url_env: str | None = Field(
        default=None, description="Variable holding the URL (Slack and Teams URLs are secrets)."
    )
    secret_env: str | None = Field(
        default=None,
        description="Variable holding a Standard Webhooks secret (whsec_<base64>): every "
        "request then carries webhook-id, webhook-timestamp and webhook-signature.",
    )
    format: Literal["standard", "slack", "teams"] = Field(
        default="standard",
        description="standard: {type, timestamp, data}; slack and teams: {text} (their "
        "incoming webhooks' plain message).",
    )
    timeout_s: float = Field(default=5.0, gt=0, description="Per-request timeout.")

    @model_validator(mode="after")
    def _one_url(self) -> WebhookAlert:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url, url_env")
        return self


class EmailAlert(_Strict):
    """An SMTP server that mails each alert to ``to``."""

    host: str = Field(description="SMTP server.")
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = Field(default=True, description="Upgrade with STARTTLS before signing in.")
    ssl: bool = Field(default=False, description="TLS from the first byte (port 465).")
    username_env: str | None = Field(default=None, description="Variable holding the user.")
    password_env: str | None = Field(default=None, description="Variable holding the password.")
    from_: str = Field(alias="from", description="Sender address.")
    to: list[str] = Field(min_length=1, description="Recipients.")
    timeout_s: float = Field(default=10.0, gt=0, description="Connection and reply timeout.")
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AlertsConfig(_Strict):
    """Notifications when trouble starts (README "Alerts"): one per new cause, until it clears."""

    interval_s: float = Field(default=15.0, gt=0, description="How often causes are looked for.")
    causes: list[Literal["dead", "parked", "circuit", "backlog"]] = Field(
        default=["dead", "parked", "circuit", "backlog"],
        description="Which causes alert: a new dead or parked reason per target, a circuit "
        "opening, a target's oldest waiting delivery older than backlog_age_s.",
    )
    backlog_age_s: float = Field(
        default=900.0, gt=0, description="Age of a target's oldest waiting delivery that alerts."
    )
    admin_url: str | None = Field(
        default=None, description="The admin page's address, put in each alert as a link."
    )
    webhooks: list[WebhookAlert] = Field(default_factory=list)
    email: EmailAlert | None = None


class Config(_Strict):
    store: str = Field(
        default="sqlite:///var/pohub.db",
        description="sqlite:///path, redis://, redis+cluster:// or redis+sentinel:// "
        "(options ?partitions=&durability=: docs/redis.md)",
    )
    mappings_dir: str = Field(default="mappings", description="Seed mapping files, one per system.")
    systems: dict[str, SystemConfig] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    api_keys: list[ApiKey] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, description="Inbound bodies above get 413.")
    api_key_rate_per_s: float = Field(
        default=50.0,
        gt=0,
        description="Operations API requests per second per API key (429 above).",
    )
    api_key_burst: int = Field(default=300, ge=1, description="Requests a key may make at once.")
    auth_fail_limit: int = Field(
        default=20, ge=1,
        description="Failed sign-ins a client address may make per auth_fail_window_s (429 above).",
    )  # fmt: skip
    auth_fail_window_s: float = Field(
        default=60.0, gt=0, description="Window in which auth_fail_limit failures refill."
    )
    auth_fail_max_clients: int = Field(
        default=10_000, ge=1, description="Client addresses tracked for failed sign-ins at most."
    )
    alerts: AlertsConfig | None = Field(default=None, description="Notifications; none: off.")

    def targets_of(self, system: str) -> list[str]:
        return [t for r in self.routes if r.from_ == system for t in r.to]

    def secret_headers(self) -> frozenset[str]:
        """Every header that carries a credential, lower-cased: the fixed list plus each
        header this configuration names for inbound or outbound auth. None of them is ever
        stored, logged, returned or counted."""
        names = set(SECRET_HEADERS)
        for system in self.systems.values():
            if system.inbound_auth is not None:
                names.add(system.inbound_auth.header.lower())
            auth = system.auth
            for token in (auth.bearer, auth.token) if auth is not None else ():
                if token is not None:
                    names.add(token.header.lower())
        return frozenset(names)


def expand_env(value: Any, env: dict[str, str] | None = None) -> Any:
    """Replace ``${VAR:-default}`` in every string of a loaded YAML tree."""
    env = dict(os.environ) if env is None else env
    if isinstance(value, str):
        return _ENV_REF.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: expand_env(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, env) for v in value]
    return value


def config_path(path: str | None) -> Path:
    return Path(path or os.environ.get("POHUB_CONFIG") or DEFAULT_CONFIG)


def parse_config(
    text: str, file: str, known_systems: list[str]
) -> tuple[Config | None, list[ConfigProblem]]:
    try:
        data, lines = load_yaml(text)
    except YamlProblem as exc:
        return None, [ConfigProblem(file, exc.line, "$", str(exc))]
    try:
        config = Config.model_validate(expand_env(data or {}))
    except ValidationError as exc:
        return None, problems_from(exc, file, lines)
    problems = []
    for name in config.systems:
        if name not in known_systems:
            problems.append(
                ConfigProblem(
                    file,
                    line_of(lines, ("systems", name)),
                    f"$.systems.{name}",
                    f"unknown system (known: {', '.join(known_systems)})",
                )
            )
        elif (refused := _batch_problem(name, config.systems[name].batch)) is not None:
            where = ("systems", name, "batch")
            problems.append(ConfigProblem(file, line_of(lines, where), _path(where), refused))
    for i, route in enumerate(config.routes):
        for j, sys_id in enumerate([route.from_, *route.to]):
            loc: tuple[str | int, ...] = (
                ("routes", i, "from") if j == 0 else ("routes", i, "to", j - 1)
            )
            if sys_id not in known_systems:
                problems.append(
                    ConfigProblem(
                        file, line_of(lines, loc), _path(loc), f"unknown system {sys_id!r}"
                    )
                )
            elif j > 0 and (
                config.systems.get(sys_id) is None or not config.systems[sys_id].base_url
            ):
                problems.append(
                    ConfigProblem(
                        file,
                        line_of(lines, loc),
                        _path(loc),
                        f"target {sys_id!r} has no systems.{sys_id}.base_url",
                    )
                )
    return config, problems


def _batch_problem(name: str, batch: BatchConfig | None) -> str | None:
    """A batch for a system that takes one PO per request, or above its document's limit."""
    if batch is None or batch.max == 1:
        return None
    from adapters import registry

    bulk = registry.system(name).bulk
    if bulk is None:
        return f"{name} takes one PO per request: batch.max must be 1 (or no batch)"
    if bulk.limit is not None and batch.max > bulk.limit:
        return f"{name}'s document allows {bulk.limit} POs per request: batch.max above it"
    return None


def _path(loc: tuple[str | int, ...]) -> str:
    from core.errors import json_path

    return json_path(loc)


def load_config(path: str | None, known_systems: list[str]) -> Config:
    """Read and validate config.yaml; a missing default file means all defaults."""
    file = config_path(path)
    if not file.exists():
        if path is None and not os.environ.get("POHUB_CONFIG"):
            return Config()
        raise ConfigError([ConfigProblem(str(file), None, "$", "file not found")])
    config, problems = parse_config(file.read_text(), str(file), known_systems)
    if problems or config is None:
        raise ConfigError(problems)
    return config
