"""Per-scene plug-ins: what each scene adds to a generic service (its day end, the subjects its
special registrations excuse). A scene's service module registers its entries when imported;
`SCENE_MODULES` lists those modules — one line per scene, for every registry at once."""

from __future__ import annotations

import importlib
from typing import Generic, TypeVar

#: Service modules that register a scene's plug-ins (one line per scene).
SCENE_MODULES: tuple[str, ...] = ("reference.services.inpatient",)

T = TypeVar("T")


class SceneRegistry(Generic[T]):
    """Entries of one kind by key (a scene, a subject type); each key registered once."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, T] = {}

    def register(self, key: str, entry: T) -> T:
        if key in self._entries:
            raise ValueError(f"{self.what} {key} registered twice")
        self._entries[key] = entry
        return entry

    def all(self) -> dict[str, T]:
        """Every entry (importing the scene modules that register them first)."""
        for module in SCENE_MODULES:
            importlib.import_module(module)
        return self._entries
