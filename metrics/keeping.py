"""Intermediate results kept between computations: a metric family's facts for a set of
periods, a dimension cube (metrics/cube.py).

The metrics layer does not know where results live or when they go stale; whoever runs a
computation may set a :data:`Keeper` with :func:`keeping` (the app: its results kept per data
refresh, data/cache.py, so that the sparklines of one page and the scorecard of another
share what they both read). Without one, everything is computed (the CLI, reports, tests).

Some results are worth reading only once built: a dimension cube costs more to build than
the direct statement it saves (:func:`prepared`). A keeper may leave building them to its
own time (the app: in the background, between its visitors' computations) by having an
``ahead(key, build)`` method; the computation then answers directly meanwhile.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

T = TypeVar("T")

#: ``keeper(key, compute)`` returns the value kept under ``key`` or ``compute()``'s, kept.
#: A key is a tuple of reprable values (names, Filters, settings).
Keeper = Callable[[tuple, Callable[[], Any]], Any]

_KEEPER: contextvars.ContextVar[Keeper | None] = contextvars.ContextVar("keeper", default=None)


@contextlib.contextmanager
def keeping(keeper: Keeper | None) -> Iterator[None]:
    """Computations run inside keep their intermediate results with ``keeper``."""
    token = _KEEPER.set(keeper)
    try:
        yield
    finally:
        _KEEPER.reset(token)


def active() -> bool:
    """True when a keeper is set."""
    return _KEEPER.get() is not None


def kept(key: tuple, compute: Callable[[], T]) -> T:
    """The value kept under ``key``, or ``compute()`` (kept when a keeper is set)."""
    keeper = _KEEPER.get()
    return compute() if keeper is None else keeper(key, compute)


def prepared(key: tuple, build: Callable[[Connection], T], conn: Connection) -> T | None:
    """The value kept under ``key``, for a result worth reading only once built (a dimension
    cube). A keeper with an ``ahead(key, build)`` method answers it: the kept value, or None
    while it is not built (the keeper builds it in its own time, with its own connection; the
    caller answers directly meanwhile). Any other keeper builds it now with ``conn`` and keeps
    it; without a keeper it is built and not kept."""
    keeper = _KEEPER.get()
    if keeper is None:
        return build(conn)
    ahead = getattr(keeper, "ahead", None)
    return keeper(key, lambda: build(conn)) if ahead is None else ahead(key, build)


def kept_result(name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """A metric function ``f(conn, *args)`` whose result is kept under ``(name, *args,
    **kwargs)`` when a keeper is set: a page section and another page's evidence that ask for
    the same figures compute them once."""
    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(function)
        def run(conn, *args, **kwargs):
            return kept((name, *args, *sorted(kwargs.items())), lambda: function(conn, *args, **kwargs))
        return run
    return decorate
