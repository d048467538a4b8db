"""The analytics filter form: echoes the GET parameters back and carries field errors.

Checking happens in services.analytics_filters (shared with the CSV URL and the CLI); this
only keeps what the administrator typed so the form shows it again beside the messages.
"""

from collections.abc import Mapping

from ...services.analytics_filters import FIELDS, PRESETS

PRESET_CHOICES = [("today", "Today"), ("7d", "Last 7 days"), ("30d", "Last 30 days"),
                  ("90d", "Last 90 days"), ("custom", "Custom range")]
OUTCOME_CHOICES = [("", "Any outcome"), ("success", "Success"), ("failure", "Failure (any)")]
ERROR_CLASSES = ("auth", "content_filtered", "invalid_request", "model_not_found", "quota",
                 "rate_limited", "unavailable")
EXPORT_KINDS = [("raw", "Raw attempts"), ("by_feature", "By feature"),
                ("by_connection", "By connection"), ("by_model", "By model")]


class FilterForm:
    def __init__(self, args: Mapping):
        self.values = {name: str(args.get(name, "") or "")[:200] for name in FIELDS}
        if not self.values["preset"]:
            custom = self.values["from"] or self.values["to"]
            self.values["preset"] = "custom" if custom else "30d"
        self.errors: dict[str, list[str]] = {}

    def apply_errors(self, field_errors: Mapping[str, list[str]]) -> None:
        self.errors = dict(field_errors)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def error(self, name: str) -> str:
        return " ".join(self.errors.get(name, []))

    @property
    def is_custom(self) -> bool:
        return self.values["preset"] not in PRESETS

    @property
    def outcome_choices(self) -> list[tuple[str, str]]:
        return OUTCOME_CHOICES + [(f"error:{name}", f"Error: {name.replace('_', ' ')}")
                                  for name in ERROR_CLASSES]
