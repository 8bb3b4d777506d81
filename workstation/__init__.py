"""The workstation engine: a Python re-creation of backtest-kit (``import workstation as ws``)."""

from __future__ import annotations

import linecache

from workstation import persist
from workstation.atomic_file import write_bytes_atomically, write_text_atomically
from workstation.backtest import Backtest
from workstation.backtest_request import (
    BacktestRequest,
    PreparedBacktest,
    ensure_exchange,
    ensure_strategy,
    exchange_choices,
    prepare_backtest,
    strategy_choices,
    strategy_params_model,
)
from workstation.clients.pnl import compute_pnl
from workstation.config import Config, get_config, set_config
from workstation.constants import Constant
from workstation.engine.clock import Clock, ReplayClock, SystemClock
from workstation.errors import (
    CandleAnomalyError,
    CandleWindowError,
    ContextError,
    DuplicateSchemaError,
    OptimizerError,
    PersistedStateConflictError,
    RiskRejected,
    RunAlreadyActiveError,
    SchemaNotFoundError,
    SignalValidationError,
    SizingError,
    WorkstationError,
)
from workstation.events import (
    events,
    listen_done_backtest,
    listen_done_backtest_once,
    listen_done_live,
    listen_done_live_once,
    listen_done_walker,
    listen_done_walker_once,
    listen_error,
    listen_error_once,
    listen_partial_loss,
    listen_partial_loss_once,
    listen_partial_profit,
    listen_partial_profit_once,
    listen_performance,
    listen_performance_once,
    listen_progress_backtest,
    listen_progress_backtest_once,
    listen_progress_optimizer,
    listen_progress_optimizer_once,
    listen_progress_walker,
    listen_progress_walker_once,
    listen_risk,
    listen_risk_once,
    listen_signal,
    listen_signal_backtest,
    listen_signal_backtest_once,
    listen_signal_live,
    listen_signal_live_once,
    listen_signal_once,
    listen_validation,
    listen_validation_once,
    listen_walker,
    listen_walker_complete,
    listen_walker_complete_once,
    listen_walker_once,
    listen_walker_stop,
    listen_walker_stop_once,
)
from workstation.examples.catalogue import BuiltinStrategy, available_builtin_strategies
from workstation.exchanges import make_csv_exchange, make_demo_exchange
from workstation.exchanges.api_keys import delete_api_key, has_api_key, set_api_key
from workstation.exchanges.candle_store import CandleStore, CandleStoreFileError, StoredSeries
from workstation.exchanges.ccxt_exchange import (
    POPULAR_CCXT_EXCHANGES,
    ExchangeResponseError,
    ccxt_exchange_names,
    close_ccxt_exchanges,
    ensure_ccxt_exchange,
    make_ccxt_exchange,
)
from workstation.exchanges.csv_import import (
    ColumnMapping,
    CsvImportError,
    CsvImportResult,
    CsvParseResult,
    CsvPreview,
    CsvRowError,
    import_candle_csv,
    parse_candle_csv,
    preview_csv,
)
from workstation.exchanges.download import DownloadProgress, DownloadSummary, SymbolDownload, download_history
from workstation.exchanges.replay import make_replay_exchange
from workstation.heat import Heat
from workstation.helpers import format_price, format_quantity, get_average_price, get_candles, get_date, get_mode
from workstation.history import HistoryFileError, RunHistory, RunSummary, StoredRun
from workstation.live import Live
from workstation.market_data import fetch_candles
from workstation.models.candles import CANDLE_DTYPE
from workstation.models.events import BacktestProgress, DoneEvent, ErrorEvent, PartialEvent
from workstation.models.results import (
    ActiveResult,
    CancelledResult,
    ClosedResult,
    IdleResult,
    OpenedResult,
    Pnl,
    ScheduledResult,
    TickResult,
)
from workstation.models.risk import RiskCheckArgs, RiskCheckPayload, RiskPosition
from workstation.models.series import DrawdownPeriod, MonthlyReturns, RunSeries
from workstation.models.signal import Signal, SignalRow
from workstation.models.walker import (
    WalkerContract,
    WalkerProgress,
    WalkerResults,
    WalkerStatistics,
    WalkerStopEvent,
    WalkerStrategyResult,
)
from workstation.optimizer import (
    GridSearch,
    Optimizer,
    OptimizerProgress,
    OptimizerResult,
    OptimizerRow,
    OutOfSampleStats,
    RandomSearch,
    SearchMode,
    WalkForwardResult,
    WalkForwardWindow,
    connect_dask,
    local_process_pool,
)
from workstation.paper import PAPER_SPEEDS, PaperRun, PaperTradingRequest, prepare_paper_trading
from workstation.partial_report import Partial
from workstation.performance import Performance
from workstation.position_size import PositionSize
from workstation.registry import (
    add_exchange,
    add_frame,
    add_optimizer,
    add_risk,
    add_sizing,
    add_strategy,
    add_walker,
    list_exchanges,
    list_frames,
    list_optimizers,
    list_risks,
    list_sizings,
    list_strategies,
    list_walkers,
)
from workstation.reports import formatting
from workstation.reports.figures import StatisticFigure, statistics_figures
from workstation.reports.heat import HEATMAP_COLUMNS, HeatmapRow, HeatmapStatistics, heatmap_row_cells
from workstation.reports.live import LiveEvent, LiveStatistics
from workstation.reports.schedule import ScheduleStatistics
from workstation.reports.statistics import BacktestStatistics, position_duration_minutes
from workstation.reset import reset
from workstation.schedule import Schedule
from workstation.schemas.exchange import ExchangeSchema
from workstation.schemas.frame import FrameSchema
from workstation.schemas.optimizer import OptimizerSchema
from workstation.schemas.risk import RiskSchema, RiskValidation
from workstation.schemas.sizing import AtrBasedSizing, FixedPercentageSizing, KellyCriterionSizing, SizingSchema
from workstation.schemas.strategy import StrategySchema
from workstation.schemas.walker import WalkerMetric, WalkerSchema
from workstation.services.live_records import PersistedLiveSignal
from workstation.strategy_files import StrategyFileError, StrategyFiles
from workstation.timeutil import CANDLE_INTERVAL_MINUTES
from workstation.walker import Walker

__all__ = [
    "CANDLE_DTYPE",
    "CANDLE_INTERVAL_MINUTES",
    "HEATMAP_COLUMNS",
    "PAPER_SPEEDS",
    "POPULAR_CCXT_EXCHANGES",
    "ActiveResult",
    "AtrBasedSizing",
    "Backtest",
    "BacktestProgress",
    "BacktestRequest",
    "BacktestStatistics",
    "BuiltinStrategy",
    "CancelledResult",
    "CandleAnomalyError",
    "CandleStore",
    "CandleStoreFileError",
    "CandleWindowError",
    "Clock",
    "ClosedResult",
    "ColumnMapping",
    "Config",
    "Constant",
    "ContextError",
    "CsvImportError",
    "CsvImportResult",
    "CsvParseResult",
    "CsvPreview",
    "CsvRowError",
    "DoneEvent",
    "DownloadProgress",
    "DownloadSummary",
    "DrawdownPeriod",
    "DuplicateSchemaError",
    "ErrorEvent",
    "ExchangeResponseError",
    "ExchangeSchema",
    "FixedPercentageSizing",
    "FrameSchema",
    "GridSearch",
    "Heat",
    "HeatmapRow",
    "HeatmapStatistics",
    "HistoryFileError",
    "IdleResult",
    "KellyCriterionSizing",
    "Live",
    "LiveEvent",
    "LiveStatistics",
    "MonthlyReturns",
    "OpenedResult",
    "Optimizer",
    "OptimizerError",
    "OptimizerProgress",
    "OptimizerResult",
    "OptimizerRow",
    "OptimizerSchema",
    "OutOfSampleStats",
    "PaperRun",
    "PaperTradingRequest",
    "Partial",
    "PartialEvent",
    "Performance",
    "PersistedLiveSignal",
    "PersistedStateConflictError",
    "Pnl",
    "PositionSize",
    "PreparedBacktest",
    "RandomSearch",
    "ReplayClock",
    "RiskCheckArgs",
    "RiskCheckPayload",
    "RiskPosition",
    "RiskRejected",
    "RiskSchema",
    "RiskValidation",
    "RunAlreadyActiveError",
    "RunHistory",
    "RunSeries",
    "RunSummary",
    "Schedule",
    "ScheduleStatistics",
    "ScheduledResult",
    "SchemaNotFoundError",
    "SearchMode",
    "Signal",
    "SignalRow",
    "SignalValidationError",
    "SizingError",
    "SizingSchema",
    "StatisticFigure",
    "StoredRun",
    "StoredSeries",
    "StrategyFileError",
    "StrategyFiles",
    "StrategySchema",
    "SymbolDownload",
    "SystemClock",
    "TickResult",
    "WalkForwardResult",
    "WalkForwardWindow",
    "Walker",
    "WalkerContract",
    "WalkerMetric",
    "WalkerProgress",
    "WalkerResults",
    "WalkerSchema",
    "WalkerStatistics",
    "WalkerStopEvent",
    "WalkerStrategyResult",
    "WorkstationError",
    "add_exchange",
    "add_frame",
    "add_optimizer",
    "add_risk",
    "add_sizing",
    "add_strategy",
    "add_walker",
    "available_builtin_strategies",
    "ccxt_exchange_names",
    "close_ccxt_exchanges",
    "compute_pnl",
    "connect_dask",
    "delete_api_key",
    "download_history",
    "ensure_ccxt_exchange",
    "ensure_exchange",
    "ensure_strategy",
    "events",
    "exchange_choices",
    "fetch_candles",
    "format_price",
    "format_quantity",
    "formatting",
    "get_average_price",
    "get_candles",
    "get_config",
    "get_date",
    "get_mode",
    "has_api_key",
    "heatmap_row_cells",
    "import_candle_csv",
    "list_exchanges",
    "list_frames",
    "list_optimizers",
    "list_risks",
    "list_sizings",
    "list_strategies",
    "list_walkers",
    "listen_done_backtest",
    "listen_done_backtest_once",
    "listen_done_live",
    "listen_done_live_once",
    "listen_done_walker",
    "listen_done_walker_once",
    "listen_error",
    "listen_error_once",
    "listen_partial_loss",
    "listen_partial_loss_once",
    "listen_partial_profit",
    "listen_partial_profit_once",
    "listen_performance",
    "listen_performance_once",
    "listen_progress_backtest",
    "listen_progress_backtest_once",
    "listen_progress_optimizer",
    "listen_progress_optimizer_once",
    "listen_progress_walker",
    "listen_progress_walker_once",
    "listen_risk",
    "listen_risk_once",
    "listen_signal",
    "listen_signal_backtest",
    "listen_signal_backtest_once",
    "listen_signal_live",
    "listen_signal_live_once",
    "listen_signal_once",
    "listen_validation",
    "listen_validation_once",
    "listen_walker",
    "listen_walker_complete",
    "listen_walker_complete_once",
    "listen_walker_once",
    "listen_walker_stop",
    "listen_walker_stop_once",
    "local_process_pool",
    "make_ccxt_exchange",
    "make_csv_exchange",
    "make_demo_exchange",
    "make_replay_exchange",
    "parse_candle_csv",
    "persist",
    "position_duration_minutes",
    "prepare_backtest",
    "prepare_paper_trading",
    "preview_csv",
    "reset",
    "set_api_key",
    "set_config",
    "statistics_figures",
    "strategy_choices",
    "strategy_params_model",
    "write_bytes_atomically",
    "write_text_atomically",
]

# PySide6's import hook (shiboken's __feature__ support) reads the source of every module imported after QtCore
# into linecache: over 10 MB for this package and its dependencies, kept for the life of the process. Tracebacks
# read what they need again on demand.
linecache.clearcache()
