"""flask command groups beyond the foundation's; each module has register(app)."""

import importlib
import pkgutil


def register(app) -> None:
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register_module = getattr(module, "register", None)
        if register_module is not None:
            register_module(app)
