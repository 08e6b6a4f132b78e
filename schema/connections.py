"""Relay-style connections: ``{ edges { cursor node } nodes pageInfo { hasNextPage endCursor } totalCount }``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, cast

import strawberry

from resolvers.loading import Later

T = TypeVar("T")


@strawberry.type(description="Where a page ends, and whether another follows.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow: ask again with `after: endCursor`.")
    has_previous_page: bool = strawberry.field(description="Whether this page started after a cursor.")
    start_cursor: str | None = strawberry.field(description="The cursor of the first item; null for an empty page.")
    end_cursor: str | None = strawberry.field(
        description="The cursor of the last item: the next page's `after`; null for an empty page."
    )


@strawberry.type(description="One item of a page, with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Give it as `after` for the items that follow this one.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of items: `nodes` (or `edges` with cursors), `pageInfo` and `totalCount`.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page, each with its cursor.")
    nodes: list[T] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends, and whether another follows.")
    total_count: int = strawberry.field(description="How many items match, across every page.")

    @classmethod
    def of(
        cls, nodes: list[T], cursor: Callable[[T], str], *, has_next: bool, has_previous: bool, total: int
    ) -> Connection[T]:
        """Like :meth:`build`, with the edges (and their cursors) made only if the query selects ``edges``: a page of
        hundreds of nodes read through ``nodes`` then costs no cursor at all. See :class:`~resolvers.loading.Later`."""

        async def edges() -> list[Edge[T]]:
            return [Edge(cursor=cursor(node), node=node) for node in nodes]

        return cls(
            edges=cast("list[Edge[T]]", Later(edges)),
            nodes=nodes,
            page_info=PageInfo(
                has_next_page=has_next,
                has_previous_page=has_previous,
                start_cursor=cursor(nodes[0]) if nodes else None,
                end_cursor=cursor(nodes[-1]) if nodes else None,
            ),
            total_count=total,
        )

    @classmethod
    def build(cls, items: list[tuple[str, T]], *, has_next: bool, has_previous: bool, total: int) -> Connection[T]:
        return cls(
            edges=[Edge(cursor=c, node=n) for c, n in items],
            nodes=[n for _, n in items],
            page_info=PageInfo(
                has_next_page=has_next,
                has_previous_page=has_previous,
                start_cursor=items[0][0] if items else None,
                end_cursor=items[-1][0] if items else None,
            ),
            total_count=total,
        )
