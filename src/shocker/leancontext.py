"""contextlib's contextmanager, suppress and nullcontext for the modules every container
start imports (`run`, `exec`, `ps`, the supervisor and the init), without contextlib.

`import contextlib` costs 2.6 M instructions (callgrind, python -I -S, with pathlib and
signal already loaded: 92.1 M against 89.5), about 0.5 ms of CPU on every start; these
three need none of what it imports. They behave as contextlib's do for the generators and
exceptions used here: the generator yields once; an exception of the block is thrown into
it at the yield, and what the generator raises instead replaces it.
"""

from __future__ import annotations

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager
    from types import TracebackType
    from typing import Any, ParamSpec, TypeVar

    P = ParamSpec("P")
    T = TypeVar("T")


class GeneratorContext:
    """What a @contextmanager function returns: enters at its yield, leaves after it."""

    __slots__ = ("_generator",)

    def __init__(self, generator: Any) -> None:
        self._generator = generator

    def __enter__(self) -> Any:
        try:
            return next(self._generator)
        except StopIteration:
            raise RuntimeError("generator didn't yield") from None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if kind is None:
            try:
                next(self._generator)
            except StopIteration:
                return False
            raise RuntimeError("generator didn't stop")
        if value is None:
            value = kind()
        try:
            self._generator.throw(value)
        except StopIteration as stopped:
            return stopped is not value  # the generator swallowed the block's exception
        except RuntimeError as error:
            # PEP 479: a StopIteration of the block comes back as a RuntimeError from it.
            if error is value or (isinstance(value, StopIteration) and error.__cause__ is value):
                value.__traceback__ = traceback
                return False
            raise
        except BaseException as error:
            if error is not value:
                raise
            value.__traceback__ = traceback
            return False
        raise RuntimeError("generator didn't stop after throw()")


def contextmanager(
    function: Callable[P, Iterator[T]],
) -> Callable[P, AbstractContextManager[T, bool | None]]:
    """contextlib.contextmanager: a generator function that yields once, as a context."""

    def context(*args: P.args, **kwargs: P.kwargs) -> AbstractContextManager[T, bool | None]:
        return GeneratorContext(function(*args, **kwargs))

    context.__name__ = function.__name__
    context.__qualname__ = function.__qualname__
    context.__doc__ = function.__doc__
    return context


class suppress:
    """contextlib.suppress: the block's exceptions of these classes end it silently."""

    __slots__ = ("_kinds",)

    def __init__(self, *kinds: type[BaseException]) -> None:
        self._kinds = kinds

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        return kind is not None and issubclass(kind, self._kinds)


class nullcontext:
    """contextlib.nullcontext() without an enter result: a context that does nothing."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None
