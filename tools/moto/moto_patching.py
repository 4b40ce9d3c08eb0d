"""What the gap-fillers' ``install`` needs to patch moto: pytest's MonkeyPatch in the tests (undone after
each test), or moto_server.py's permanent patches (the server never undoes them, and importing pytest
only for this cost its start 0.15 s)."""

from __future__ import annotations

from typing import Any, Protocol


class Patcher(Protocol):
    def setattr(self, target: Any, name: str, value: Any) -> None: ...
