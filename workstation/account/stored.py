"""The account of a stored run (history): the settings its request was stored with, replayed over its trades."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workstation.account.ledger import RunAccount, candle_closes
from workstation.account.report import AccountReport
from workstation.account.settings import AccountSettings
from workstation.backtest_request import ensure_exchange
from workstation.config import Config, get_config
from workstation.errors import SchemaNotFoundError
from workstation.models.results import ClosedResult
from workstation.services.connections import exchange_connections

_ACCOUNT_FIELDS = ("starting_balance", "sizing")
_COST_FIELDS = ("percent_fee", "percent_slippage", "position_entry_cost")


def stored_account_settings(parameters: Mapping[str, Any]) -> tuple[AccountSettings, Config]:
    """Return the account and the costs a stored run's request gave it.

    A run stored before runs had an account gets the default one (10,000 at a fixed cost); costs the parameters do
    not hold are the current config's.

    Raises
    ------
    pydantic.ValidationError
        If the stored values are not valid (the field named).
    """
    settings = AccountSettings.model_validate(
        {name: parameters[name] for name in _ACCOUNT_FIELDS if name in parameters}
    )
    costs = {name: parameters[name] for name in _COST_FIELDS if name in parameters}
    return settings, Config.model_validate({**get_config().model_dump(), **costs})


async def stored_account(
    parameters: Mapping[str, Any],
    closed_results: Sequence[ClosedResult],
    *,
    symbol: str,
    exchange_name: str,
    frame_start: int,
    frame_end: int,
) -> AccountReport:
    """Return the account report of a stored run: its trades booked again under the settings stored with it.

    Open positions are marked with the closes of the run's exchange when it can still be reached (registered, the
    demo or a ``stored-…`` exchange); otherwise the equity is marked only at the openings and closes.
    """
    settings, config = stored_account_settings(parameters)
    account = RunAccount(settings, config)
    for result in closed_results:
        account.book(result)
    try:
        exchange = exchange_connections.client(ensure_exchange(exchange_name, source="StoredRun.get_account"), True)
    except SchemaNotFoundError:
        exchange = None
    return await account.report(frame_start, frame_end, candle_closes(exchange, symbol, config))
