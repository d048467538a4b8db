"""Answers shared by the admin actions: HTMX fragments or POST-redirect-GET with a flash."""

import json
from urllib.parse import urlsplit

from flask import flash, make_response, redirect, request


def is_htmx() -> bool:
    """True when HTMX sent the request (it wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def safe_next(default: str) -> str:
    """The form's or query's ``next`` when it is a path on this site, else ``default``."""
    target = request.form.get("next") or request.args.get("next")
    if target:
        parts = urlsplit(target)
        if (not parts.scheme and not parts.netloc and target.startswith("/")
                and not target.startswith("//") and "\\" not in target):
            return target
    return default


def fragment_with_flash(body: str, message: str, category: str = "success", status: int = 200):
    """A fragment for HTMX plus a flash message delivered through the HX-Trigger header."""
    response = make_response(body, status)
    response.headers["HX-Trigger"] = json.dumps({"flash": {"message": message,
                                                           "category": category}})
    return response


def redirect_with_flash(location: str, message: str, category: str = "success"):
    flash(message, category)
    return redirect(location)


def apply_field_errors(form, exc) -> list[str]:
    """Put a service's field errors on the matching form fields; returns the ones left over."""
    leftover = []
    for name, messages in (getattr(exc, "field_errors", None) or {}).items():
        field = form._fields.get(name)
        messages = [messages] if isinstance(messages, str) else list(messages)
        if field is None:
            leftover.extend(f"{name}: {m}" for m in messages)
            continue
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        field.errors.extend(messages)
    if not getattr(exc, "field_errors", None):
        leftover.append(exc.message)
    return leftover
