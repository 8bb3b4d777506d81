"""SPEC §19.5 O2: the same rows on the default pool, a two-process pool and a local dask cluster; dask connections."""

from __future__ import annotations

import asyncio
import socket
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

import pytest
from data_paths import BTC_1D_CSV
from distributed import Client, LocalCluster

import workstation as ws
from workstation.examples.sma_cross import make_strategy
from workstation.optimizer import Optimizer, OptimizerResult, connect_dask

SYMBOL = "BTCUSDT"

#: SPEC §19.5 O1: (rank, job index, params, total_pnl, closed signals).
O1_ROWS = [
    (1, 3, {"fast": 20, "slow": 50}, -0.3931943911943412, 6),
    (2, 0, {"fast": 10, "slow": 30}, -2.3756448463741333, 7),
    (3, 1, {"fast": 10, "slow": 50}, -3.1932031912030627, 8),
    (4, 2, {"fast": 20, "slow": 30}, -4.745271652688299, 8),
]


def register_o1() -> None:
    ws.set_config(get_candles_retry_delay_ms=0)
    ws.add_exchange(ws.make_csv_exchange("csv-exchange", BTC_1D_CSV))
    ws.add_frame(
        frame_name="day",
        interval="1m",
        start_date=datetime(2024, 1, 1, 1, 0, tzinfo=UTC),
        end_date=datetime(2024, 1, 1, 17, 59, tzinfo=UTC),
    )
    ws.add_optimizer(
        optimizer_name="sma-sweep",
        strategy_factory=make_strategy,
        grid={"fast": [10, 20], "slow": [30, 50]},
        metric="total_pnl",
        exchange_name="csv-exchange",
        frame_name="day",
        symbols=[SYMBOL],
    )


def sweep(executor: ProcessPoolExecutor | Client | None) -> OptimizerResult:
    return asyncio.run(Optimizer.run(SYMBOL, "sma-sweep", executor))


def test_o2_every_executor_gives_identical_rows() -> None:
    register_o1()
    started = time.perf_counter()

    on_default_pool = sweep(None)
    with ProcessPoolExecutor(max_workers=2) as pool:
        on_pool = sweep(pool)
    with (
        LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address="127.0.0.1:0") as cluster,
        Client(cluster) as client,
    ):
        on_dask = sweep(client)

    assert [(r.rank, r.index, r.params, r.metric_value, r.total_signals) for r in on_default_pool.rows] == O1_ROWS
    assert on_pool.rows == on_default_pool.rows
    assert on_dask.rows == on_default_pool.rows
    assert on_pool == on_dask == on_default_pool
    assert time.perf_counter() - started < 40


def test_workers_inside_this_process_are_refused() -> None:
    register_o1()
    with (
        LocalCluster(n_workers=1, processes=False, dashboard_address="127.0.0.1:0") as cluster,
        Client(cluster) as client,
        pytest.raises(ws.OptimizerError) as refused,
    ):
        sweep(client)
    message = str(refused.value)
    assert message.startswith("the dask worker inproc://")
    assert message.endswith(" runs inside this process; sweeps need worker processes (LocalCluster(processes=True))")
    assert ws.list_optimizers()[0].optimizer_name == "sma-sweep"  # the registry survived


@pytest.mark.parametrize("address", ["localhost:8786", "tcp://localhost", "http://127.0.0.1:8786", "", 8786])
def test_connect_dask_refuses_an_address_that_is_not_tcp_host_port(address: object) -> None:
    with pytest.raises(ws.OptimizerError) as refused:
        connect_dask(address)  # type: ignore[arg-type]
    assert str(refused.value) == f"the dask scheduler address must look like tcp://host:port, got {address!r}"


def test_connect_dask_gives_up_on_an_unreachable_scheduler_within_the_timeout() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"  # nothing listens there any more
    started = time.perf_counter()
    with pytest.raises(ws.OptimizerError) as refused:
        connect_dask(address, timeout=1.0)
    assert time.perf_counter() - started < 5
    assert str(refused.value).startswith(f"cannot reach the dask scheduler at {address}: ")


def test_connect_dask_returns_a_client_usable_as_executor() -> None:
    register_o1()
    with LocalCluster(n_workers=1, processes=True, threads_per_worker=1, dashboard_address="127.0.0.1:0") as cluster:
        client = connect_dask(cluster.scheduler_address)
        try:
            result = sweep(client)
        finally:
            client.close()
    assert [(r.index, r.metric_value) for r in result.rows] == [(row[1], row[3]) for row in O1_ROWS]


def test_an_asynchronous_client_is_awaited_on_the_sweeps_loop() -> None:
    register_o1()

    async def main() -> OptimizerResult:
        async with (
            LocalCluster(
                n_workers=1, processes=True, threads_per_worker=1, dashboard_address="127.0.0.1:0", asynchronous=True
            ) as cluster,
            Client(cluster, asynchronous=True) as client,
        ):
            return await Optimizer.run(SYMBOL, "sma-sweep", client)

    result = asyncio.run(main())
    assert [(r.rank, r.index, r.params, r.metric_value, r.total_signals) for r in result.rows] == O1_ROWS
