"""OpenAI's cursor pagination, for lists the API pages itself: `after` is the last id of the previous page."""

from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

from litestar.params import QueryParameter

from service.errors import InvalidRequest, quoted

T = TypeVar("T")

After = Annotated[str | None, QueryParameter(description="The last id of the previous page; empty or absent for the first page")]


def cursor(after: str | None) -> str | None:
    return after or None  # `?after=` means "from the start", as in OpenAI's API


def page_after(items: Sequence[T], id_of: Callable[[T], str], after: str | None, limit: int, what: str) -> tuple[list[T], bool]:
    """The `limit` items (in the given order) that follow the one whose id is `after`, and whether more follow.
    An `after` that names none of them is a 400 naming `what` they are."""
    if after is not None:
        ids = [id_of(item) for item in items]
        if after not in ids:
            raise InvalidRequest(f"'after' names no {what}: {quoted(after)}", param="after")
        items = items[ids.index(after) + 1:]
    return list(items[:limit]), len(items) > limit
