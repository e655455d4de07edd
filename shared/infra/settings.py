"""Settings of every Tally process, from `TALLY_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.infra.auth import TokenKeys

_PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "tally", "dev", "test"}

DEV_TOKEN_SECRET = "token_secret"  # the file `tally dev` keeps its secret in, in data_dir


class SettingError(RuntimeError):
    """A setting a command needs is missing: `tally` prints it as one line, exit 2."""


class Settings(BaseSettings):
    # hide_input_in_errors: a refused secret is not echoed into a log or a traceback
    model_config = SettingsConfigDict(
        env_prefix="TALLY_", extra="ignore", hide_input_in_errors=True
    )

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset: `tally dev` embeds one"
    )
    kafka_bootstrap: str | None = Field(
        default=None, description="Kafka bootstrap servers; unset: `tally dev` embeds a broker"
    )
    token_secret: SecretStr | None = Field(
        default=None, description="HMAC key that signs API tokens (>= 32 characters)"
    )
    token_previous_secrets: SecretStr | None = Field(
        default=None,
        description="older token secrets, comma-separated, still accepted (key rotation)",
    )
    token_revocation_refresh_seconds: float = Field(
        default=5.0, ge=0, description="how stale the cache of revoked tokens may be"
    )
    currency: str = "USD"
    data_dir: Path = Path(".tally")
    host: str = "127.0.0.1"
    port: int = 8000
    ledger_topic: str = "tally.ledger.v1"
    finance_topic: str = "tally.finance.v1"
    topic_partitions: int = 12
    consumer_group: str = "tally-recalc"
    max_body_bytes: int = 5 * 1024 * 1024
    db_pool_size: int = 10
    db_connect_timeout: float = Field(
        default=2.0, gt=0, description="seconds to open a database connection"
    )
    db_command_timeout: float = Field(
        default=2.0, gt=0, description="seconds one statement may take, on HTTP-serving paths"
    )
    db_pool_timeout: float = Field(
        default=2.0, gt=0, description="seconds to wait for a pooled connection"
    )
    log_level: str = "INFO"
    slow_transaction_seconds: float = Field(
        default=0.5,
        ge=0,
        description="a worker transaction slower than this logs its phases (INFO)",
    )

    @field_validator("token_secret")
    @classmethod
    def _no_placeholder_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _strong(value.get_secret_value()):
            raise ValueError("TALLY_TOKEN_SECRET must be a random string of 32+ characters")
        return value

    @field_validator("token_previous_secrets")
    @classmethod
    def _no_placeholder_previous(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not all(map(_strong, _split(value))):
            raise ValueError(
                "TALLY_TOKEN_PREVIOUS_SECRETS must be random strings of 32+ characters,"
                " separated by commas"
            )
        return value

    def require_database_url(self) -> str:
        if not self.database_url:
            raise SettingError("TALLY_DATABASE_URL is not set")
        return self.database_url

    def require_kafka_bootstrap(self) -> str:
        if not self.kafka_bootstrap:
            raise SettingError("TALLY_KAFKA_BOOTSTRAP is not set")
        return self.kafka_bootstrap

    def require_token_secret(self) -> str:
        if self.token_secret is None:
            raise SettingError("TALLY_TOKEN_SECRET is not set")
        return self.token_secret.get_secret_value()

    def dev_token_secret_path(self) -> Path:
        return self.data_dir / DEV_TOKEN_SECRET

    def with_dev_token_secret(self) -> Settings:
        """These settings, with the secret `tally dev` keeps in `<data_dir>/token_secret`
        when TALLY_TOKEN_SECRET is unset and that file exists."""
        path = self.dev_token_secret_path()
        if self.token_secret is not None or not path.is_file():
            return self
        secret = path.read_text().strip()
        if not _strong(secret):
            raise SettingError(f"{path} does not hold a random string of 32+ characters")
        return self.model_copy(update={"token_secret": SecretStr(secret)})

    def require_token_keys(self) -> TokenKeys:
        """The signing secret and the previous ones still accepted."""
        previous = _split(self.token_previous_secrets) if self.token_previous_secrets else ()
        return TokenKeys(self.require_token_secret(), previous)


def _strong(secret: str) -> bool:
    return secret.lower() not in _PLACEHOLDERS and len(secret) >= 32


def _split(secrets: SecretStr) -> tuple[str, ...]:
    return tuple(s.strip() for s in secrets.get_secret_value().split(",") if s.strip())
