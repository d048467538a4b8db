"""Core statements compiled once per dialect and run as driver SQL.

execute()'s hot statements run thousands of times with the same shape; compiling them once
and passing the driver its own parameter format skips SQLAlchemy's per-call cache-key,
compilation and result-metadata work (on a HeldConnection the driver's cursor runs them
directly; on a Connection, ``exec_driver_sql``). Bind and result type processing (e.g. SQLite's datetime strings, JSON
text) is applied here exactly as SQLAlchemy would, so the stored values are identical.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection, Dialect


class FixedStatement:
    """One statement's SQL text for one dialect, with its parameter and result converters."""

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self._defaults = compiled.construct_params(_check=False)
        processors = compiled._bind_processors
        self._positional = bool(compiled.positional)
        names = list(compiled.positiontup) if self._positional else list(self._defaults)
        self._binds = [(name, processors.get(name)) for name in names]
        columns = getattr(statement, "selected_columns", None)
        if columns is None:
            returning = getattr(statement, "_returning", ()) or ()
            columns = list(returning)
        self._results = [column.type._cached_result_processor(dialect, None)
                         for column in columns]
        self._convert_rows = any(self._results)

    def parameters(self, values: dict) -> tuple | dict:
        merged = {**self._defaults, **values}
        if self._positional:
            return tuple(merged[name] if process is None else process(merged[name])
                         for name, process in self._binds)
        return {name: merged[name] if process is None else process(merged[name])
                for name, process in self._binds}

    def _execute(self, target: Any, values: dict) -> list[tuple]:
        """The driver's rows (empty for a statement without results)."""
        if isinstance(target, Connection):
            result = target.exec_driver_sql(self.sql, self.parameters(values))
            return [tuple(row) for row in result.all()] if result.returns_rows else []
        return target.run_driver_sql(self.sql, self.parameters(values))

    def run(self, target: Any, values: dict) -> None:
        """Execute on a SQLAlchemy Connection (inside its transaction) or a HeldConnection."""
        self._execute(target, values)

    def rows(self, target: Any, values: dict) -> list[tuple]:
        raw = self._execute(target, values)
        if not self._convert_rows:
            return raw
        results = self._results
        return [tuple(value if process is None or value is None else process(value)
                      for process, value in zip(results, row, strict=True)) for row in raw]

    def first(self, target: Any, values: dict) -> tuple | None:
        found = self.rows(target, values)
        return found[0] if found else None


_compiled: dict[tuple[str, str], FixedStatement] = {}


def fixed(name: str, build, dialect: Dialect) -> FixedStatement:
    """The statement ``build()`` compiled for ``dialect``, built on first use."""
    key = (name, dialect.name)
    statement = _compiled.get(key)
    if statement is None:
        statement = _compiled[key] = FixedStatement(build(), dialect)
    return statement
