"""Configuration from the environment, with secrets generated into the instance folder."""

import os
import secrets
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; set it to e.g. {default}") from None


def _env_positive_int(name: str, default: int) -> int:
    value = _env_int(name, default)
    if value < 1:
        raise ConfigError(f"{name}={value} must be 1 or more")
    return value


def _env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def ensure_instance_folder(path: str) -> Path:
    """Create the instance folder and prove it is writable, or say why not."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # A uniquely named probe: several workers may start at the same moment.
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(
            f"the instance folder {folder} cannot be written ({exc.strerror}); "
            "fix its permissions or point INSTANCE_PATH at a writable folder"
        ) from None
    return folder


def _read_or_create_secret(folder: Path, filename: str, make, logger) -> str:
    """Read a generated secret, creating it first if needed.

    The secret is written to a private temporary file and linked into place, which either
    succeeds whole or finds another process's file already there, so workers starting
    together all end up with the same complete value.
    """
    path = folder / filename
    try:
        if not path.exists():
            fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{filename}.")  # mode 0600
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(make() + "\n")
                try:
                    os.link(temporary, path)
                except FileExistsError:
                    pass
                else:
                    logger.warning("Generated %s into %s (mode 0600). Keep it: it is needed "
                                   "to read stored data.", filename, path)
            finally:
                os.unlink(temporary)
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read or create {path} ({exc.strerror}); fix the instance folder's permissions"
        ) from None


def normalise_database_url(raw: str) -> str:
    """Check a database URL and pick the psycopg 3 driver for PostgreSQL."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(
            f"DATABASE_URL {raw!r} is not a database URL; use e.g. "
            "postgresql://user:password@host:5432/dbname or sqlite:////absolute/path/acm.sqlite3"
        ) from None
    backend = url.get_backend_name()
    if backend in {"postgres", "postgresql"}:
        if url.drivername in {"postgres", "postgresql"}:
            url = url.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise ConfigError(
            f"DATABASE_URL uses {backend!r}; only postgresql and sqlite are supported"
        )
    return url.render_as_string(hide_password=False)


def parse_credentials_keys(raw: str) -> list[str]:
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if not keys:
        raise ConfigError("CREDENTIALS_KEYS is empty; give one or more Fernet keys, comma-separated")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ConfigError(
                f"CREDENTIALS_KEYS key #{position} is not a valid Fernet key (32 url-safe base64 "
                "bytes); make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from None
    return keys


def load_config(instance_path: str, logger) -> dict:
    """Read every setting; generate SECRET_KEY and the credentials key when unset.

    Settings given in the environment are checked before anything is written, so a bad
    value leaves the instance folder as it was.
    """
    folder = ensure_instance_folder(instance_path)
    database_url = normalise_database_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{folder / 'acm.sqlite3'}")
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "LOGIN_ACCOUNT_RATE_LIMIT": os.environ.get("LOGIN_ACCOUNT_RATE_LIMIT", "5 per minute"),
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE"),
        "TRUSTED_PROXIES": _env_int("TRUSTED_PROXIES", 0),
        "EXECUTE_MAX_ATTEMPTS": _env_positive_int("EXECUTE_MAX_ATTEMPTS", 3),
        "CIRCUIT_BREAKER_THRESHOLD": _env_positive_int("CIRCUIT_BREAKER_THRESHOLD", 3),
        "CIRCUIT_BREAKER_BASE_SECONDS": _env_positive_int("CIRCUIT_BREAKER_BASE_SECONDS", 30),
        "CIRCUIT_BREAKER_MAX_SECONDS": _env_positive_int("CIRCUIT_BREAKER_MAX_SECONDS", 600),
        "CIRCUIT_BREAKER_TRIAL_TIMEOUT_SECONDS": _env_positive_int(
            "CIRCUIT_BREAKER_TRIAL_TIMEOUT_SECONDS", 120),
        "RATE_LIMITED_COOLDOWN_SECONDS": _env_positive_int("RATE_LIMITED_COOLDOWN_SECONDS", 30),
        "QUOTA_COOLDOWN_SECONDS": _env_positive_int("QUOTA_COOLDOWN_SECONDS", 3600),
        "MAX_CONTENT_LENGTH": _env_int("MAX_REQUEST_BYTES", 4 * 1024 * 1024),
        "DEFAULT_TIMEZONE": os.environ.get("DEFAULT_TIMEZONE", "UTC"),
    }
    if os.environ.get("CREDENTIALS_KEYS"):
        settings["CREDENTIALS_KEYS"] = parse_credentials_keys(os.environ["CREDENTIALS_KEYS"])
    else:
        settings["CREDENTIALS_KEYS"] = parse_credentials_keys(_read_or_create_secret(
            folder, "credentials.key", lambda: Fernet.generate_key().decode(), logger))
    settings["SECRET_KEY"] = os.environ.get("SECRET_KEY") or _read_or_create_secret(
        folder, "secret_key", lambda: secrets.token_urlsafe(48), logger)
    return settings


BASE_SETTINGS = {
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_CSRF_SSL_STRICT": True,
    "RATELIMIT_HEADERS_ENABLED": False,
    "RATELIMIT_STRATEGY": "moving-window",
}
