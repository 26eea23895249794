"""shocker.leancontext behaves as contextlib does for the shapes of context shocker uses."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shocker import leancontext

Decorator = Callable[[Callable[[list[str]], Iterator[str]]], Callable[[list[str]], Any]]
BOTH: list[Decorator] = [contextlib.contextmanager, leancontext.contextmanager]


def contexts(decorator: Decorator) -> dict[str, Callable[[list[str]], Any]]:
    def plain(log: list[str]) -> Iterator[str]:
        log.append("enter")
        try:
            yield "value"
        finally:
            log.append("exit")

    def translating(log: list[str]) -> Iterator[str]:
        try:
            yield "value"
        except OSError as error:
            log.append("caught")
            raise ValueError(f"step: {error}") from None

    def swallowing(log: list[str]) -> Iterator[str]:
        try:
            yield "value"
        except KeyError:
            log.append("swallowed")

    return {
        "plain": decorator(plain),
        "translating": decorator(translating),
        "swallowing": decorator(swallowing),
    }


def outcome(context: Callable[[list[str]], Any], body: Callable[[], None]) -> tuple[Any, ...]:
    log: list[str] = []
    try:
        with context(log) as value:
            log.append(value)
            body()
    except BaseException as error:
        return (*log, type(error).__name__, str(error), type(error.__cause__).__name__)
    return tuple(log)


def fine() -> None:
    return None


def os_error() -> None:
    raise OSError(2, "No such file")


def key_error() -> None:
    raise KeyError("k")


def stop() -> None:
    raise StopIteration


def interrupt() -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("name", ["plain", "translating", "swallowing"])
@pytest.mark.parametrize("body", [fine, os_error, key_error, stop, interrupt])
def test_contextmanager_is_contextlibs(name: str, body: Callable[[], None]) -> None:
    expected, actual = (outcome(contexts(d)[name], body) for d in BOTH)
    assert actual == expected


def test_contextmanager_keeps_the_functions_name_and_doc() -> None:
    @leancontext.contextmanager
    def named() -> Iterator[None]:
        """Its doc."""
        yield

    assert (named.__name__, named.__doc__) == ("named", "Its doc.")


def test_a_generator_that_does_not_yield_or_stop_is_an_error() -> None:
    @leancontext.contextmanager
    def never() -> Iterator[None]:
        return
        yield

    @leancontext.contextmanager
    def twice() -> Iterator[None]:
        yield
        yield

    with pytest.raises(RuntimeError, match="didn't yield"), never():
        pass
    with pytest.raises(RuntimeError, match="didn't stop"), twice():
        pass


@pytest.mark.parametrize("body", [fine, os_error, key_error, interrupt])
def test_suppress_and_nullcontext_are_contextlibs(body: Callable[[], None]) -> None:
    def run(make: Callable[[], Any]) -> str:
        try:
            with make():
                body()
        except BaseException as error:
            return type(error).__name__
        return "-"

    assert run(lambda: leancontext.suppress(OSError, KeyError)) == run(
        lambda: contextlib.suppress(OSError, KeyError)
    )
    assert run(leancontext.nullcontext) == run(contextlib.nullcontext)
