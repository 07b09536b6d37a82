"""A context manager base for objects that own resources and have a ``close()``."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from 3.11

__all__ = ["Closing"]


class Closing:
    """``with obj:`` calls ``obj.close()`` at the end (subclasses implement :meth:`close`)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
