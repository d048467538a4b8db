"""App keys: create, list with usage to date, relabel, revoke, authenticate gateway callers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, func, or_, select, update

from ..extensions import db
from ..models import AiConnection, AiConnectionUsage, AiProvider, AiProviderModel, AppKey, utcnow
from ..models.app_key import KEY_PREFIX, hash_app_key
from .errors import InvalidInput, NotFound, ServiceError, UnknownProvider
from .transactions import read_rows, write_transaction

MAX_LABEL_LENGTH = 100
# last_used_at is a hint for administrators; writing it on every request would make each
# gateway call a write transaction, so it is refreshed at most this often.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass
class AppKeyRow:
    """One key as the list shows it: the key plus its usage to date."""

    key: AppKey
    requests: int
    attempts: int
    cost: Decimal | None

    @property
    def providers_text(self) -> str:
        return ", ".join(self.key.allowed_providers) if self.key.allowed_providers else "all"


# --- validation --------------------------------------------------------------------------


def _clean_label(label: str | None, errors: dict[str, list[str]]) -> str:
    label = (label or "").strip()
    if not label:
        errors.setdefault("label", []).append("A label is required (e.g. the application's name).")
    elif len(label) > MAX_LABEL_LENGTH:
        errors.setdefault("label", []).append(
            f"The label is {len(label)} characters long; the limit is {MAX_LABEL_LENGTH}.")
    return label


def parse_provider_list(text: str | None) -> list[str] | None:
    """"openai, gemini" -> ["openai", "gemini"]; empty -> None (every provider)."""
    slugs = [part.strip() for part in (text or "").split(",") if part.strip()]
    return slugs or None


def _clean_providers(providers, errors: dict[str, list[str]]) -> list[str] | None:
    if providers is None:
        return None
    if isinstance(providers, str):
        providers = parse_provider_list(providers)
        if providers is None:
            return None
    slugs: list[str] = []
    for slug in providers:
        slug = str(slug).strip()
        if slug and slug not in slugs:
            slugs.append(slug)
    if not slugs:
        return None
    known = set(db.session.scalars(select(AiProvider.slug).where(AiProvider.slug.in_(slugs))))
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        errors.setdefault("providers", []).append(
            "Unknown provider slug(s): " + ", ".join(unknown) + ". Known: "
            + (", ".join(all_provider_slugs()) or "none yet") + ".")
    return slugs


def _clean_rate_limit(value, errors: dict[str, list[str]]) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors.setdefault("rate_limit_per_minute", []).append(
            f"{value!r} is not a whole number; leave it empty for no limit.")
        return None
    if number < 1:
        errors.setdefault("rate_limit_per_minute", []).append(
            "The per-minute limit must be at least 1 (leave it empty for no limit).")
    return number


def all_provider_slugs() -> list[str]:
    return list(db.session.scalars(select(AiProvider.slug).order_by(AiProvider.slug)))


# --- commands -----------------------------------------------------------------------------


def create_app_key(label: str, providers: list[str] | str | None = None,
                   rate_limit_per_minute: int | str | None = None) -> tuple[AppKey, str]:
    """A new key and its raw value; the raw value is returned once and never stored."""
    errors: dict[str, list[str]] = {}
    label = _clean_label(label, errors)
    slugs = _clean_providers(providers, errors)
    limit = _clean_rate_limit(rate_limit_per_minute, errors)
    if errors:
        raise InvalidInput(_summary(errors), errors)
    key, raw = AppKey.generate(label, allowed_providers=slugs, rate_limit_per_minute=limit)
    with write_transaction() as session:
        session.add(key)
    return key, raw


def update_app_key(key_id: int, label: str, providers: list[str] | str | None = None,
                   rate_limit_per_minute: int | str | None = None) -> AppKey:
    """Change a key's label, allowed providers and per-minute limit (the secret never changes)."""
    key = get_app_key(key_id)
    errors: dict[str, list[str]] = {}
    label = _clean_label(label, errors)
    slugs = _clean_providers(providers, errors)
    limit = _clean_rate_limit(rate_limit_per_minute, errors)
    if errors:
        raise InvalidInput(_summary(errors), errors)
    with write_transaction():
        key.label, key.allowed_providers, key.rate_limit_per_minute = label, slugs, limit
    return key


def revoke_app_key(prefix_or_id: str | int) -> AppKey:
    """Revoke by id or by the prefix shown in lists; revoking twice keeps the first date."""
    key = find_app_key(prefix_or_id)
    if key.revoked_at is None:
        with write_transaction():
            key.revoked_at = utcnow()
    return key


def get_app_key(key_id: int) -> AppKey:
    key = db.session.get(AppKey, key_id)
    if key is None:
        raise NotFound(f"no app key has id {key_id}")
    return key


def find_app_key(prefix_or_id: str | int) -> AppKey:
    text = str(prefix_or_id).strip()
    if text.isdigit():
        return get_app_key(int(text))
    if not text:
        raise NotFound("give an app key's prefix (acm-…) or id")
    # Lists show the first 12 characters; accept any unambiguous start of at least 6.
    if len(text) < 6 or not text.startswith(KEY_PREFIX):
        raise NotFound(f"{text!r} is not an app key prefix; prefixes look like {KEY_PREFIX}AbCd1234")
    if len(text) >= 12:  # a full prefix, or the whole key pasted
        condition = AppKey.prefix == text[:12]
    else:
        condition = AppKey.prefix.startswith(text, autoescape=True)
    matches = list(db.session.scalars(select(AppKey).where(condition).limit(2)))
    if not matches:
        raise NotFound(f"no app key has prefix {text!r}")
    if len(matches) > 1:
        raise NotFound(f"prefix {text!r} matches {len(matches)} keys; give more characters or the id")
    return matches[0]


def list_app_keys(include_revoked: bool = True) -> list[AppKeyRow]:
    """Every key, newest first, with requests and cost to date (one grouped usage query)."""
    query = select(AppKey).order_by(AppKey.created_at.desc(), AppKey.id.desc())
    if not include_revoked:
        query = query.where(AppKey.revoked_at.is_(None))
    keys = list(db.session.scalars(query))
    usage = AiConnectionUsage
    totals = {
        row.app_key_id: row
        for row in db.session.execute(
            select(usage.app_key_id,
                   func.count(func.distinct(usage.request_id)).label("requests"),
                   func.count(usage.id).label("attempts"),
                   func.sum(usage.cost).label("cost"))
            .where(usage.app_key_id.is_not(None))
            .group_by(usage.app_key_id))
    }
    rows = []
    for key in keys:
        total = totals.get(key.id)
        rows.append(AppKeyRow(
            key=key,
            requests=int(total.requests) if total else 0,
            attempts=int(total.attempts) if total else 0,
            cost=Decimal(total.cost) if total and total.cost is not None else None,
        ))
    return rows


# --- gateway --------------------------------------------------------------------------------


def authenticate(raw_key: str | None) -> AppKey | None:
    """The active key for this raw value, or None (unknown, malformed or revoked)."""
    key = lookup(raw_key)
    if key is None or key.is_revoked:
        return None
    touch(key)
    return key


_keys = AppKey.__table__
_KEY_BY_HASH = select(_keys).where(_keys.c.key_hash == bindparam("key_hash"))
_providers = AiProvider.__table__
_PROVIDER_BY_SLUG = select(_providers.c.id, _providers.c.status).where(
    _providers.c.slug == bindparam("slug"))


def lookup(raw_key: str | None) -> AppKey | None:
    """The key for this raw value whether or not it is revoked (for a precise 401 message).

    Read with one Core statement (every gateway request does this) into a detached AppKey:
    read-only here; touch() writes by id."""
    if not raw_key or not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 200:
        return None
    rows = read_rows(_KEY_BY_HASH, {"key_hash": hash_app_key(raw_key)})
    return AppKey(**rows[0]._mapping) if rows else None


def touch(key: AppKey) -> None:
    """Refresh last_used_at, at most once per LAST_USED_RESOLUTION (a cheap conditional write)."""
    now = utcnow()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    with write_transaction() as session:
        session.execute(
            update(AppKey)
            .where(AppKey.id == key.id)
            .where(or_(AppKey.last_used_at.is_(None),
                       AppKey.last_used_at < now - LAST_USED_RESOLUTION))
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )


def _summary(errors: dict[str, list[str]]) -> str:
    return " ".join(message for messages in errors.values() for message in messages)


# --- what a key may call ----------------------------------------------------------------------


class ProviderNotAllowed(ServiceError):
    """The key is limited to other providers."""

    status = 403


@dataclass
class GatewayModel:
    id: str  # "<provider-slug>" or "<provider-slug>/<model>"
    owned_by: str
    created: int  # unix seconds


@dataclass
class ModelTarget:
    """Where a gateway ``model`` string points: a provider, and a model or None (the
    connection's own model)."""

    provider_slug: str
    model: str | None


def models_for_key(key: AppKey) -> list[GatewayModel]:
    """Active providers the key may use, and each one's known models (connection settings and
    the provider's listed catalogue)."""
    providers = [p for p in db.session.scalars(AiProvider.active()) if key.allows_provider(p.slug)]
    if not providers:
        return []
    ids = [p.id for p in providers]
    listed: dict[int, set[str]] = {pid: set() for pid in ids}
    for provider_id, model_id in db.session.execute(
            select(AiProviderModel.provider_id, AiProviderModel.model_id)
            .where(AiProviderModel.provider_id.in_(ids))):
        listed[provider_id].add(model_id)
    for provider_id, settings in db.session.execute(
            select(AiConnection.provider_id, AiConnection.settings)
            .where(AiConnection.provider_id.in_(ids), AiConnection.status == "active")):
        model = (settings or {}).get("model")
        if model:
            listed[provider_id].add(str(model))
    models: list[GatewayModel] = []
    for provider in sorted(providers, key=lambda p: p.slug):
        created = int(provider.created_at.replace(tzinfo=UTC).timestamp())
        models.append(GatewayModel(provider.slug, provider.slug, created))
        models.extend(GatewayModel(f"{provider.slug}/{model}", provider.slug, created)
                      for model in sorted(listed[provider.id]))
    return models


def resolve_model(key: AppKey, model: str) -> ModelTarget:
    """Check a gateway ``model`` string against the key and the catalogue.

    Raises ProviderNotAllowed (403) when the key is limited to other providers, and
    UnknownProvider (404) for an unknown or inactive provider, or a model the provider's
    listed catalogue does not have (when a catalogue has been fetched).
    """
    slug, _, model_name = model.partition("/")
    slug, model_name = slug.strip(), model_name.strip() or None
    if not key.allows_provider(slug):
        raise ProviderNotAllowed(
            f"This app key may not use provider {slug!r}; it is limited to: "
            + ", ".join(key.allowed_providers or []) + ".")
    rows = read_rows(_PROVIDER_BY_SLUG, {"slug": slug})
    if not rows or rows[0].status != "active":
        raise UnknownProvider(
            f"The model `{model}` does not exist: no active provider has slug {slug!r}. "
            "Use `<provider-slug>` or `<provider-slug>/<model>` (GET /v1/models lists them).")
    if model_name is not None and not _model_is_known(rows[0].id, model_name):
        raise UnknownProvider(
            f"The model `{model}` does not exist: provider {slug!r} does not list "
            f"{model_name!r} (GET /v1/models lists the models this key may use).")
    return ModelTarget(slug, model_name)


def _model_is_known(provider_id: int, model_name: str) -> bool:
    """True when the model is listed, or when the provider has no listed catalogue to check."""
    has_catalogue = db.session.scalar(
        select(AiProviderModel.id).where(AiProviderModel.provider_id == provider_id).limit(1))
    if has_catalogue is None:
        return True
    listed = db.session.scalar(
        select(AiProviderModel.id).where(AiProviderModel.provider_id == provider_id,
                                         AiProviderModel.model_id == model_name))
    if listed is not None:
        return True
    settings = db.session.scalars(
        select(AiConnection.settings).where(AiConnection.provider_id == provider_id))
    return any((item or {}).get("model") == model_name for item in settings)
