"""Light records: dataclass-like classes built without importing `dataclasses`.

`dataclasses` costs ~9 ms to import (it pulls in inspect, ast, dis) and each class ~0.5 ms to
build (generated code through exec); `shocker run` and `shocker ps` pay that on every call.
"""

from __future__ import annotations

# Not `typing.TYPE_CHECKING`: importing typing costs ~3 ms; mypy honours the name itself.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    T = TypeVar("T")
else:

    def dataclass_transform(**_: object) -> object:
        return lambda function: function


_MISSING = object()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record."""


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A field whose default is built per instance (as dataclasses.field(default_factory))."""
    return _Factory(default_factory)  # type: ignore[return-value]


def _own_fields(cls: type) -> list[str]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name, annotation in vars(klass).get("__annotations__", {}).items():
            if "ClassVar" in str(annotation) or name in names:
                continue
            names.append(name)
    return names


def _build(cls: type[T], frozen: bool, kw_only: bool) -> type[T]:
    names = tuple(_own_fields(cls))
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    for name in names:
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, _Factory):
            factories[name] = value.make
            delattr(cls, name)
        elif value is not _MISSING:
            defaults[name] = value
    post_init = getattr(cls, "__post_init__", None)
    setter = object.__setattr__
    qualname = cls.__qualname__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if args:
            if kw_only or len(args) > len(names):
                raise TypeError(f"{qualname}() takes {len(names)} field arguments")
            for name, value in zip(names, args, strict=False):
                if name in kwargs:
                    raise TypeError(f"{qualname}() got multiple values for {name!r}")
                kwargs[name] = value
        for name in names:
            if name in kwargs:
                setter(self, name, kwargs.pop(name))
            elif name in defaults:
                setter(self, name, defaults[name])
            elif name in factories:
                setter(self, name, factories[name]())
            else:
                raise TypeError(f"{qualname}() missing required argument: {name!r}")
        if kwargs:
            raise TypeError(f"{qualname}() got unexpected arguments: {', '.join(kwargs)}")
        if post_init is not None:
            post_init(self)

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{qualname}({inner})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in names)

    methods: dict[str, object] = {
        "__init__": __init__,
        "__repr__": __repr__,
        "__eq__": __eq__,
        "__record_fields__": names,
    }
    if frozen:

        def __setattr__(self: Any, name: str, value: object) -> None:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")

        def __delattr__(self: Any, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field {name!r}")

        def __hash__(self: Any) -> int:
            return hash(tuple(getattr(self, n) for n in names))

        methods.update(__setattr__=__setattr__, __delattr__=__delattr__, __hash__=__hash__)
    else:
        # As dataclasses: a mutable record with __eq__ is unhashable.
        methods["__hash__"] = None
    for name, value in methods.items():
        if name == "__repr__" and name in cls.__dict__:
            continue  # the class's own, as dataclasses keeps it
        setattr(cls, name, value)
    return cls


@dataclass_transform(field_specifiers=(field,))
def record(*, frozen: bool = False, kw_only: bool = False) -> Callable[[type[T]], type[T]]:
    """Class decorator: __init__, __repr__, __eq__ (and __hash__ when frozen) from annotations."""
    return lambda cls: _build(cls, frozen, kw_only)


def fields(cls_or_record: object) -> tuple[str, ...]:
    """The field names of a record class or instance, in declaration order."""
    return cls_or_record.__record_fields__  # type: ignore[attr-defined,no-any-return]


def is_record(value: object) -> bool:
    return hasattr(type(value), "__record_fields__")


def asdict(value: object) -> dict[str, Any]:
    """The record's fields as a dict, records inside lists, tuples and dicts converted too."""
    return {name: _plain(getattr(value, name)) for name in fields(value)}


def _plain(value: Any) -> Any:
    if is_record(value):
        return asdict(value)
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


def replace(value: T, /, **changes: Any) -> T:
    """A copy of record `value` with some fields changed (runs __post_init__ again)."""
    current = {name: getattr(value, name) for name in fields(value)}
    current.update(changes)
    return type(value)(**current)
