"""Declarative setup: providers and connections from a YAML or JSON file, and back.

Import matches providers by slug and connections by (provider slug, connection name); it
creates what is missing and updates what differs, all in one transaction, and refuses the
whole file when anything in it is wrong. Keys a file leaves out keep their stored values, and
connections that are not in the file are left alone (import never deletes). Secrets may be
written as ``env:VARIABLE`` and are read from the environment at import time.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from ..crypto import CredentialsError
from ..extensions import db
from ..models import AiConnection, AiProvider
from ..redaction import redact
from . import connection_admin, providers
from .errors import ServiceError

PROVIDER_KEYS = ("slug", "name", "adapter", "status", "settings", "default_connection",
                 "connections")
CONNECTION_KEYS = ("name", "api_key", "organization", "project", "base_url", "model",
                   "temperature", "max_tokens", "timeout_s", "priority", "weight",
                   "rate_limit_per_minute", "rate_limit_per_day", "status", "extra_headers",
                   "http_referer", "x_title", "pricing", "extra")
SECRET_FIELDS = ("api_key", "organization", "project")
# Extra header names whose values are credentials: exported as env: placeholders.
SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie", re.IGNORECASE)
ENV_PREFIX = "env:"


@dataclass
class ImportPlan:
    changes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# --- reading the file --------------------------------------------------------------------------


def _read(text_or_path: str | Path) -> tuple[str, str | None]:
    """The file's text and its name (None when text was given)."""
    if isinstance(text_or_path, Path):
        return text_or_path.read_text(encoding="utf-8"), text_or_path.name
    text = str(text_or_path)
    if "\n" not in text and len(text) < 4096 and not text.lstrip().startswith(("{", "providers")):
        path = Path(text)
        if path.is_file():
            return path.read_text(encoding="utf-8"), path.name
    return text, None


def parse_document(text: str, filename: str | None = None) -> tuple[Any, str | None]:
    """The parsed document, or a problem naming the line for malformed YAML/JSON."""
    is_json = (filename or "").lower().endswith(".json") or text.lstrip().startswith("{")
    if is_json:
        try:
            return json.loads(text), None
        except json.JSONDecodeError as exc:
            return None, f"line {exc.lineno}, column {exc.colno}: malformed JSON: {exc.msg}"
    try:
        return yaml.safe_load(text), None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return None, f"{where}malformed YAML: {problem}"


def _resolve_env(value: Any, place: str, problems: list[str]) -> Any:
    if isinstance(value, str) and value.strip().startswith(ENV_PREFIX):
        variable = value.strip()[len(ENV_PREFIX):].strip()
        if not variable:
            problems.append(f"{place}: 'env:' needs a variable name")
            return None
        resolved = os.environ.get(variable)
        if resolved is None or resolved == "":
            problems.append(f"{place}: environment variable {variable} is not set")
            return None
        return resolved
    return value


# --- validation --------------------------------------------------------------------------------


@dataclass
class _ConnectionEntry:
    place: str
    data: dict  # env: references resolved; keys as in the file
    existing: AiConnection | None
    clean: connection_admin.CleanConnection | None = None


@dataclass
class _ProviderEntry:
    place: str
    slug: str
    data: dict  # provider fields in service form (adapter_kind, …), only those in the file
    existing: AiProvider | None
    connections: list[_ConnectionEntry] = field(default_factory=list)
    default_connection: str | None = None


def _unknown_keys(item: dict, allowed: tuple[str, ...], place: str, problems: list[str]) -> None:
    for key in item:
        if key not in allowed:
            problems.append(f"{place}.{key}: unknown key (expected one of {', '.join(allowed)})")


def _check_provider(item: Any, place: str, problems: list[str],
                    seen_slugs: dict[str, str]) -> _ProviderEntry | None:
    if not isinstance(item, dict):
        problems.append(f"{place}: must be a mapping with slug, name, adapter and connections")
        return None
    _unknown_keys(item, PROVIDER_KEYS, place, problems)
    slug = str(item.get("slug") or "").strip()
    if slug in seen_slugs:
        problems.append(f"{place}.slug: duplicate slug {slug!r} (also {seen_slugs[slug]})")
        return None
    if slug:
        seen_slugs[slug] = place
    existing = AiProvider.by_slug(slug) if slug else None
    data: dict[str, Any] = {"slug": slug}
    for file_key, field_key in (("name", "name"), ("adapter", "adapter_kind"),
                                ("status", "status"), ("settings", "settings")):
        if file_key in item:
            data[field_key] = item[file_key]
    if existing is None and "name" not in data:
        data["name"] = slug  # a new provider without a display name is named by its slug
    _cleaned, errors = providers.clean_provider_data(data, current=existing)
    file_names = {"adapter_kind": "adapter"}
    for key, messages in errors.items():
        for message in messages:
            problems.append(f"{place}.{file_names.get(key, key)}: {_lower_first(message)}")
    entry = _ProviderEntry(place, slug, data, existing)
    default = item.get("default_connection")
    if default not in (None, ""):
        entry.default_connection = str(default).strip()
    return entry


def _check_connection(item: Any, place: str, provider: _ProviderEntry, problems: list[str],
                      seen_names: dict[str, str], secrets: list[str]) -> _ConnectionEntry | None:
    if not isinstance(item, dict):
        problems.append(f"{place}: must be a mapping with name, api_key, model …")
        return None
    _unknown_keys(item, CONNECTION_KEYS, place, problems)
    name = str(item.get("name") or "").strip()
    if name and name in seen_names:
        problems.append(f"{place}.name: duplicate connection name {name!r} "
                        f"(also {seen_names[name]})")
        return None
    if name:
        seen_names[name] = place
    data = {k: v for k, v in item.items() if k in CONNECTION_KEYS}
    for key in SECRET_FIELDS:
        if key in data:
            data[key] = _resolve_env(data[key], f"{place}.{key}", problems)
            if isinstance(data[key], str):
                secrets.append(data[key])
    if isinstance(data.get("extra_headers"), dict):
        data["extra_headers"] = {
            k: _resolve_env(v, f"{place}.extra_headers.{k}", problems)
            for k, v in data["extra_headers"].items()
        }
    existing = None
    if provider.existing is not None and name:
        existing = db.session.scalar(select(AiConnection).where(
            AiConnection.provider_id == provider.existing.id, AiConnection.name == name))
    clean, errors = connection_admin.clean_connection_data(data, creating=existing is None)
    for key, messages in errors.items():
        if key == "api_key" and "api_key" in item and data.get("api_key") is None:
            continue  # the unset environment variable is already reported
        for message in messages:
            problems.append(f"{place}.{key}: {_lower_first(message)}")
    return _ConnectionEntry(place, data, existing, clean)


def _lower_first(message: str) -> str:
    message = message.rstrip(".")
    if len(message) > 1 and message[0].isupper() and not message[1].isupper():
        return message[0].lower() + message[1:]
    return message


def _validate(document: Any, problems: list[str], secrets: list[str]) -> list[_ProviderEntry]:
    if not isinstance(document, dict) or "providers" not in document:
        problems.append("the file must be a mapping with a 'providers' list at the top")
        return []
    for key in document:
        if key != "providers":
            problems.append(f"{key}: unknown top-level key (expected 'providers')")
    items = document.get("providers") or []
    if not isinstance(items, list):
        problems.append("providers: must be a list")
        return []
    entries = []
    seen_slugs: dict[str, str] = {}
    for index, item in enumerate(items):
        place = f"providers[{index}]"
        entry = _check_provider(item, place, problems, seen_slugs)
        if entry is None:
            continue
        entries.append(entry)
        connections = item.get("connections") or []
        if not isinstance(connections, list):
            problems.append(f"{place}.connections: must be a list")
            continue
        seen_names: dict[str, str] = {}
        for position, connection_item in enumerate(connections):
            connection = _check_connection(connection_item, f"{place}.connections[{position}]",
                                           entry, problems, seen_names, secrets)
            if connection is not None:
                entry.connections.append(connection)
        if entry.default_connection:
            in_file = entry.default_connection in seen_names
            stored = entry.existing is not None and db.session.scalar(
                select(AiConnection.id).where(AiConnection.provider_id == entry.existing.id,
                                              AiConnection.name == entry.default_connection))
            if not in_file and not stored:
                problems.append(f"{place}.default_connection: no connection named "
                                f"{entry.default_connection!r} in this provider")
    return entries


# --- planning and applying ------------------------------------------------------------------


def _describe_changes(entries: list[_ProviderEntry]) -> list[str]:
    changes = []
    for entry in entries:
        if entry.existing is None:
            changes.append(f"create provider {entry.slug} ({entry.data.get('name')}, "
                           f"adapter {entry.data.get('adapter_kind')})")
        else:
            cleaned, _ = providers.clean_provider_data(entry.data, current=entry.existing)
            changed = providers.provider_changes(entry.existing, cleaned)
            if changed:
                changes.append(f"update provider {entry.slug}: {', '.join(changed)}")
        for connection in entry.connections:
            label = f"{entry.slug}/{connection.clean.name}"
            if connection.existing is None:
                model = connection.clean.settings.get("model")
                changes.append(f"create connection {label}" + (f" (model {model})" if model else ""))
            else:
                changed = connection_admin.connection_changes(connection.existing,
                                                              connection.clean)
                if changed:
                    changes.append(f"update connection {label}: {', '.join(changed)}")
        if entry.default_connection:
            current = entry.existing.default_connection if entry.existing else None
            if current is None or current.name != entry.default_connection:
                changes.append(f"set default connection of {entry.slug} to "
                               f"{entry.default_connection}")
    return changes


def _plan(text_or_path: str | Path) -> tuple[ImportPlan, list[_ProviderEntry], list[str]]:
    plan = ImportPlan()
    secrets: list[str] = []
    try:
        text, filename = _read(text_or_path)
    except (OSError, UnicodeDecodeError) as exc:
        plan.problems.append(f"cannot read the file: {exc}")
        return plan, [], secrets
    document, problem = parse_document(text, filename)
    if problem:
        plan.problems.append(problem)
        return plan, [], secrets
    try:
        entries = _validate(document, plan.problems, secrets)
        if not plan.problems:
            plan.changes = _describe_changes(entries)
    except CredentialsError as exc:
        plan.problems.append(str(exc))
        entries = []
    plan.problems = [redact(p, secrets) for p in plan.problems]
    return plan, entries, secrets


def plan_import(text_or_path: str | Path) -> ImportPlan:
    """What importing the file would change, or every problem in it (nothing is written)."""
    plan, _entries, _secrets = _plan(text_or_path)
    db.session.rollback()  # validation may have autoflushed nothing, but leave no transaction
    return plan


def apply_import(text_or_path: str | Path) -> ImportPlan:
    """Apply the file in one transaction; with any problem nothing is written."""
    plan, entries, secrets = _plan(text_or_path)
    if plan.problems or not plan.changes:
        db.session.rollback()
        return plan
    try:
        for entry in entries:
            provider = _apply_provider(entry)
            for connection in entry.connections:
                if connection.existing is None:
                    connection_admin.create_connection(provider.id, connection.data, commit=False)
                elif connection_admin.connection_changes(connection.existing, connection.clean):
                    connection_admin.update_connection(connection.existing.id, connection.data,
                                                       commit=False)
            if entry.default_connection:
                default_id = db.session.scalar(select(AiConnection.id).where(
                    AiConnection.provider_id == provider.id,
                    AiConnection.name == entry.default_connection))
                if provider.default_connection_id != default_id:
                    providers.set_default_connection(provider.id, default_id, commit=False)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        details = getattr(exc, "field_errors", {}) or {}
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in details.items())
        plan.problems.append(redact(f"{exc.message} {detail}".strip(), secrets))
        plan.changes = []
    except Exception:
        db.session.rollback()
        raise
    return plan


def _apply_provider(entry: _ProviderEntry) -> AiProvider:
    if entry.existing is None:
        return providers.create_provider(entry.data, commit=False)
    cleaned, _ = providers.clean_provider_data(entry.data, current=entry.existing)
    if providers.provider_changes(entry.existing, cleaned):
        return providers.update_provider(entry.existing.id, entry.data, commit=False)
    return entry.existing


# --- export ----------------------------------------------------------------------------------


def env_placeholder(*parts: str) -> str:
    """``env:OPENAI_PRIMARY_API_KEY`` from ("openai", "primary", "api_key")."""
    name = re.sub(r"[^A-Z0-9]+", "_", "_".join(parts).upper()).strip("_")
    return f"{ENV_PREFIX}{name}"


def _export_connection(provider: AiProvider, connection: AiConnection) -> dict:
    settings = dict(connection.settings or {})
    item: dict[str, Any] = {
        "name": connection.name,
        "api_key": env_placeholder(provider.slug, connection.name, "api_key"),
    }
    try:
        credentials = connection.credentials_dict
    except CredentialsError:
        credentials = {}
    for key in ("organization", "project"):
        if credentials.get(key):
            item[key] = env_placeholder(provider.slug, connection.name, key)
    for key in ("base_url", "model", "temperature", "max_tokens", "timeout_s"):
        if settings.get(key) is not None:
            item[key] = settings.pop(key)
    item["priority"] = connection.priority
    item["weight"] = connection.weight
    for key in ("rate_limit_per_minute", "rate_limit_per_day"):
        if getattr(connection, key) is not None:
            item[key] = getattr(connection, key)
    item["status"] = connection.status
    headers = settings.pop("extra_headers", None)
    if headers:
        item["extra_headers"] = {
            name: (env_placeholder(provider.slug, connection.name, name)
                   if SECRET_HEADER.search(name) else value)
            for name, value in headers.items()
        }
    for key in ("http_referer", "x_title", "pricing"):
        if settings.get(key) is not None:
            item[key] = settings.pop(key)
    for key in [k for k, v in settings.items() if v is None]:
        settings.pop(key)
    if settings:
        item["extra"] = settings
    return item


def _placeholders(value: Any) -> list[str]:
    """The environment variable names of every env: placeholder inside ``value``."""
    if isinstance(value, dict):
        return [name for v in value.values() for name in _placeholders(v)]
    if isinstance(value, list):
        return [name for v in value for name in _placeholders(v)]
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        return [value[len(ENV_PREFIX):]]
    return []


def export_config() -> str:
    """Every provider and connection as an importable YAML file, without any secret."""
    rows = db.session.scalars(select(AiProvider).order_by(AiProvider.slug)).all()
    document = {"providers": []}
    variables = []
    for provider in rows:
        item: dict[str, Any] = {"slug": provider.slug, "name": provider.name,
                                "adapter": provider.adapter_kind, "status": provider.status}
        if provider.settings:
            item["settings"] = dict(provider.settings)
        if provider.default_connection is not None:
            item["default_connection"] = provider.default_connection.name
        item["connections"] = [_export_connection(provider, c) for c in provider.connections]
        variables.extend(_placeholders(item["connections"]))
        document["providers"].append(item)
    header = (
        "# AI connection manager configuration (flask --app wsgi providers import FILE).\n"
        "# Secrets are not exported: set these environment variables before importing:\n"
        + "".join(f"#   {name}\n" for name in variables)
    )
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
