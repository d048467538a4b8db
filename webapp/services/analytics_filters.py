"""Analytics filters: parse and check the GET parameters (or CLI options) of a view.

Every value is checked here and later bound as a SQL parameter, never formatted into SQL.
Invalid input raises InvalidInput with one message per field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import AiConnection, AiProvider, utcnow
from .errors import InvalidInput

PRESETS = {"today": 1, "7d": 7, "30d": 30, "90d": 90}
DEFAULT_PRESET = "30d"
MAX_RANGE_DAYS = 400
OUTCOME_SUCCESS, OUTCOME_FAILURE, ERROR_PREFIX = "success", "failure", "error:"
_ERROR_CLASS = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
FIELDS = ("preset", "from", "to", "provider", "connection", "feature", "outcome", "model")


@dataclass(frozen=True)
class AnalyticsFilters:
    first_day: date  # UTC days, both included
    last_day: date
    preset: str = DEFAULT_PRESET
    provider_id: int | None = None
    connection_id: int | None = None
    feature: str | None = None
    model: str | None = None
    outcome: str | None = None  # success | failure | error:<class>

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min)

    @property
    def end(self) -> datetime:
        """Exclusive end: midnight after the last day."""
        return datetime.combine(self.last_day + timedelta(days=1), time.min)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def is_single_day(self) -> bool:
        return self.first_day == self.last_day

    @property
    def error_class(self) -> str | None:
        if self.outcome and self.outcome.startswith(ERROR_PREFIX):
            return self.outcome[len(ERROR_PREFIX):]
        return None

    def query_args(self) -> dict[str, str]:
        """The GET parameters that select this view again (for links and HX-Push-Url)."""
        args = {"preset": self.preset}
        if self.preset == "custom":
            args["from"] = self.first_day.isoformat()
            args["to"] = self.last_day.isoformat()
        for name, value in (("provider", self.provider_id), ("connection", self.connection_id),
                            ("feature", self.feature), ("model", self.model),
                            ("outcome", self.outcome)):
            if value not in (None, ""):
                args[name] = str(value)
        return args

    def range_label(self) -> str:
        return f"{self.first_day.isoformat()}_to_{self.last_day.isoformat()}"

    def with_(self, **changes) -> AnalyticsFilters:
        return replace(self, **changes)


def default_filters(today: date | None = None) -> AnalyticsFilters:
    today = today or utcnow().date()
    return AnalyticsFilters(today - timedelta(days=PRESETS[DEFAULT_PRESET] - 1), today)


def _clean(params: Mapping, name: str, limit: int = 200) -> str:
    value = params.get(name)
    return "" if value is None else str(value).strip()[: limit + 1]


def _parse_day(raw: str, field: str, errors: dict) -> date | None:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    errors.setdefault(field, []).append(f"{raw!r} is not a date; use YYYY-MM-DD.")
    return None


def _parse_id(raw: str, field: str, label: str, errors: dict) -> int | None:
    if raw == "":
        return None
    if not raw.isdigit() or len(raw) > 9:
        errors.setdefault(field, []).append(f"{label} must be the number of a {label}; got {raw!r}.")
        return None
    return int(raw)


def parse_filters(params: Mapping, today: date | None = None) -> AnalyticsFilters:
    """Filters from GET parameters (or CLI options); raises InvalidInput naming each problem."""
    today = today or utcnow().date()
    errors: dict[str, list[str]] = {}

    preset = _clean(params, "preset") or (
        "custom" if (_clean(params, "from") or _clean(params, "to")) else DEFAULT_PRESET)
    first = last = None
    if preset in PRESETS:
        last = today
        first = today - timedelta(days=PRESETS[preset] - 1)
    elif preset == "custom":
        raw_from, raw_to = _clean(params, "from"), _clean(params, "to")
        if not raw_from:
            errors.setdefault("from", []).append("Give a start date (YYYY-MM-DD).")
        else:
            first = _parse_day(raw_from, "from", errors)
        last = _parse_day(raw_to, "to", errors) if raw_to else today
        if first and last:
            if first > last:
                errors.setdefault("to", []).append(
                    f"The range ends ({last}) before it starts ({first}).")
            elif (last - first).days + 1 > MAX_RANGE_DAYS:
                errors.setdefault("to", []).append(
                    f"The range covers {(last - first).days + 1} days; the most is "
                    f"{MAX_RANGE_DAYS}. Choose a shorter range or export in parts.")
    else:
        errors.setdefault("preset", []).append(
            f"Unknown range {preset[:40]!r}; choose today, 7d, 30d, 90d or custom.")

    provider_id = _parse_id(_clean(params, "provider"), "provider", "provider", errors)
    connection_id = _parse_id(_clean(params, "connection"), "connection", "connection", errors)
    if provider_id is not None and db.session.get(AiProvider, provider_id) is None:
        errors.setdefault("provider", []).append(f"There is no provider with id {provider_id}.")
    if connection_id is not None and db.session.scalar(
            select(AiConnection.id).where(AiConnection.id == connection_id)) is None:
        errors.setdefault("connection", []).append(
            f"There is no connection with id {connection_id}.")

    feature = _clean(params, "feature", 100)
    model = _clean(params, "model", 200)
    if len(feature) > 100:
        errors.setdefault("feature", []).append("A feature name has at most 100 characters.")
    if len(model) > 200:
        errors.setdefault("model", []).append("A model name has at most 200 characters.")

    outcome = _clean(params, "outcome", 40)
    if outcome and outcome not in (OUTCOME_SUCCESS, OUTCOME_FAILURE) and not (
            outcome.startswith(ERROR_PREFIX) and _ERROR_CLASS.match(outcome[len(ERROR_PREFIX):])):
        errors.setdefault("outcome", []).append(
            "Outcome is success, failure or error:<class> (e.g. error:rate_limited).")

    if errors:
        raise InvalidInput("Some filters are not valid: " + " ".join(
            message for messages in errors.values() for message in messages), errors)
    return AnalyticsFilters(
        first_day=first, last_day=last, preset=preset, provider_id=provider_id,
        connection_id=connection_id, feature=feature or None, model=model or None,
        outcome=outcome or None,
    )


def column_conditions(filters: AnalyticsFilters, table) -> list:
    """WHERE conditions for every filter on the raw usage table or the outcome rollups."""
    return dimension_conditions(filters, table) + outcome_conditions(filters, table)


def dimension_conditions(filters: AnalyticsFilters, table) -> list:
    """WHERE conditions for the provider/connection/feature/model filters (bound values)."""
    conditions = []
    if filters.provider_id is not None:
        conditions.append(table.provider_id == filters.provider_id)
    if filters.connection_id is not None:
        conditions.append(table.connection_id == filters.connection_id)
    if filters.feature is not None:
        conditions.append(table.feature == filters.feature)
    if filters.model is not None:
        conditions.append(table.model == filters.model)
    return conditions


def outcome_conditions(filters: AnalyticsFilters, table) -> list:
    """WHERE conditions for the outcome filter (the table needs success and error_class)."""
    if filters.outcome == OUTCOME_SUCCESS:
        return [table.success.is_(True)]
    if filters.outcome == OUTCOME_FAILURE:
        return [table.success.is_(False)]
    if filters.error_class is not None:
        return [table.error_class == filters.error_class]
    return []
