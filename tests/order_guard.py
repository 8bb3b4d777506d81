"""The guard that keeps every order of the test suite on this machine (issue 16: no test ever trades for real).

Every ccxt instance the workstation uses comes from `CcxtConnection` (the order venues and the candle sources); one
holding API keys can sign requests, that is send orders. `loopback_only` wraps the connection's instance factory so
that such an instance whose API URLs point anywhere but 127.0.0.1 / localhost fails the test before its first
request. tests/conftest.py installs it for the whole session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from workstation.brokers.ccxt_venue import _is_loopback
from workstation.exchanges.ccxt_exchange import CcxtConnection

Create = Callable[[CcxtConnection], Awaitable[Any]]


def loopback_only(create: Create) -> Create:
    """Return ``create`` (``CcxtConnection._create``) refusing a keyed instance whose API leaves this machine."""

    async def create_on_this_machine(connection: CcxtConnection) -> Any:
        instance = await create(connection)
        keyed = connection._credentials is not None or connection.api_key_service is not None
        away = sorted({url for url in _urls(instance.urls.get("api")) if not _is_loopback(url)})
        if keyed and away:
            pytest.fail(
                f"a test built a ccxt {connection.exchange_id} connection with API keys pointing at {away[0]}: "
                "tests send orders to the fake exchange on 127.0.0.1 only (give api_url=server.url)",
                pytrace=False,
            )
        return instance

    create_on_this_machine.__wrapped__ = create  # type: ignore[attr-defined]
    return create_on_this_machine


def _urls(urls: Any) -> Iterator[str]:
    """Yield every URL of ccxt's ``urls["api"]`` (a URL, or nested dicts of them)."""
    if isinstance(urls, dict):
        for value in urls.values():
            yield from _urls(value)
    elif isinstance(urls, str):
        yield urls
