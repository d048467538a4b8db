"""Template helpers shared by every page."""

from decimal import Decimal

from flask import current_app


def init_app(app) -> None:
    @app.context_processor
    def helpers():
        return {"has_endpoint": has_endpoint}

    app.add_template_filter(money, "money")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(when, "when")


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def money(value, places: int = 4) -> str:
    """US dollars, or an em dash for unknown (unpriced is never shown as $0)."""
    if value is None:
        return "—"
    return f"${Decimal(value):,.{places}f}"


def percent(value) -> str:
    return "—" if value is None else f"{value:.1f}%"


def when(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "—" if value is None else value.strftime(fmt)
