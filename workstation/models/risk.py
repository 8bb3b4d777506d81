"""What risk validations see (SPEC §9)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from workstation.models.events import RiskStage
from workstation.models.signal import SignalRow


class RiskPosition(BaseModel):
    """An open position counted by a risk profile."""

    model_config = ConfigDict(frozen=True)

    strategy_name: str
    symbol: str
    exchange_name: str
    signal_id: str
    open_timestamp: int


class RiskCheckArgs(BaseModel):
    """Ask a risk profile whether this signal may go ahead at this stage."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    strategy_name: str
    exchange_name: str
    current_price: float
    timestamp: int
    stage: RiskStage
    signal: SignalRow | None


class RiskCheckPayload(RiskCheckArgs):
    """What each validation receives: the question plus this profile's open positions."""

    active_position_count: int
    active_positions: list[RiskPosition]
