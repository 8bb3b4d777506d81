"""Persistence adapters (SPEC §15.6): the protocol on all three storages, corrupt records (L10), the use_* switch."""

from __future__ import annotations

import asyncio
import calendar
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import ValidationError

import workstation as ws
from workstation import persist
from workstation.models.events import ErrorEvent
from workstation.persist import corrupt
from workstation.persist.adapter import PersistAdapter

T = TypeVar("T")

KEY = "BTCUSDT:one-shot"
STAMP = r"\d{8}T\d{6}Z"
ROW = ws.SignalRow(
    id="sig-1",
    position="long",
    note="first",
    price_open=42000.0,
    price_take_profit=42420.0,
    price_stop_loss=41580.0,
    minute_estimated_time=120,
    symbol="BTCUSDT",
    exchange_name="ladder",
    strategy_name="one-shot",
    frame_name="",
    scheduled_at=1704067800000,
    pending_at=1704067800000,
    is_scheduled=False,
)

AdapterMaker = Callable[[str], Any]


@pytest.fixture
def errors() -> list[ErrorEvent]:
    received: list[ErrorEvent] = []
    ws.listen_error(received.append)
    return received


@pytest.fixture(params=["memory", "json", "sqlite"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> AdapterMaker:
    kind: str = request.param
    if kind == "memory":
        return persist.MemoryAdapter
    if kind == "json":
        return lambda entity: persist.JsonFileAdapter(entity, tmp_path / "json")
    return lambda entity: persist.SqliteAdapter(entity, tmp_path / "state.sqlite3")


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


def stamp_seconds(stamp: str) -> int:
    return calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))


# --- protocol conformance --------------------------------------------------------------------------------------


def test_adapters_satisfy_the_protocol(make: AdapterMaker) -> None:
    assert isinstance(make("signal"), PersistAdapter)


def test_a_written_value_reads_back_equal_and_a_rewrite_replaces_it(make: AdapterMaker) -> None:
    async def scenario() -> tuple[Any, Any]:
        adapter = make("signal")
        await adapter.wait_for_init()
        await adapter.write_value(KEY, {"price": 42000.5, "levels": [10, 20], "note": "ü €", "pending": None})
        first = await adapter.read_value(KEY)
        await adapter.write_value(KEY, [1, 2.5, "three", True])
        return first, await adapter.read_value(KEY)

    first, second = run(scenario)
    assert first == {"price": 42000.5, "levels": [10, 20], "note": "ü €", "pending": None}
    assert second == [1, 2.5, "three", True]


def test_a_missing_key_raises_key_error_naming_it(make: AdapterMaker) -> None:
    async def scenario() -> None:
        await make("signal").read_value("ETHUSDT:one-shot")

    with pytest.raises(KeyError) as caught:
        run(scenario)
    assert caught.value.args == ("ETHUSDT:one-shot",)


def test_has_value_follows_writes_and_removes(make: AdapterMaker) -> None:
    async def scenario() -> list[bool]:
        adapter = make("schedule")
        seen = [await adapter.has_value(KEY)]
        await adapter.write_value(KEY, {"a": 1})
        seen.append(await adapter.has_value(KEY))
        await adapter.remove_value(KEY)
        seen.append(await adapter.has_value(KEY))
        return seen

    assert run(scenario) == [False, True, False]


def test_removing_a_missing_key_is_fine_and_leaves_the_others(make: AdapterMaker) -> None:
    async def scenario() -> list[str]:
        adapter = make("risk")
        await adapter.write_value("default", [])
        await adapter.remove_value("never-written")
        keys: list[str] = await adapter.keys()
        return keys

    assert run(scenario) == ["default"]


def test_remove_all_empties_the_entity_but_not_the_other_entities(make: AdapterMaker) -> None:
    async def scenario() -> tuple[list[str], list[Any], list[str]]:
        signal, schedule = make("signal"), make("schedule")
        for key in ("a", "b", "c"):
            await signal.write_value(key, key)
        await schedule.write_value("kept", 1)
        await signal.remove_all()
        return await signal.keys(), await signal.values(), await schedule.keys()

    assert run(scenario) == ([], [], ["kept"])


def test_keys_are_sorted_and_values_follow_key_order(make: AdapterMaker) -> None:
    async def scenario() -> tuple[list[str], list[Any]]:
        adapter = make("partial")
        for key in ("b", "a:2", "A", "a", "ü", "a b/c"):
            await adapter.write_value(key, f"value of {key}")
        return await adapter.keys(), await adapter.values()

    keys, values = run(scenario)
    assert keys == ["A", "a", "a b/c", "a:2", "b", "ü"]
    assert values == [f"value of {key}" for key in keys]


@pytest.mark.parametrize("key", ["a/b", "..", ".hidden", "%41", "é ü", "x.tmp", "", "k.json.corrupt-1"])
def test_awkward_keys_round_trip(make: AdapterMaker, key: str) -> None:
    async def scenario() -> tuple[Any, list[str]]:
        adapter = make("signal")
        await adapter.write_value(key, {"key": key})
        return await adapter.read_value(key), await adapter.keys()

    assert run(scenario) == ({"key": key}, [key])


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({1, 2}, "Object of type set is not JSON serializable"),
        ({"price": float("nan")}, "Out of range float values are not JSON compliant"),
        ({"row": ROW}, "Object of type SignalRow is not JSON serializable"),
    ],
)
def test_a_value_that_is_not_json_is_refused_naming_entity_and_key_and_nothing_is_written(
    make: AdapterMaker, value: Any, reason: str
) -> None:
    async def scenario() -> None:
        adapter = make("signal")
        await adapter.write_value(KEY, {"kept": True})
        try:
            await adapter.write_value(KEY, value)
        finally:
            assert await adapter.read_value(KEY) == {"kept": True}
            assert await adapter.keys() == [KEY]

    with pytest.raises(TypeError) as caught:
        run(scenario)
    assert str(caught.value) == f"signal record 'BTCUSDT:one-shot' is not JSON-serialisable: {reason}"


def test_stored_values_cannot_be_aliased_by_the_caller(make: AdapterMaker) -> None:
    async def scenario() -> tuple[Any, Any]:
        adapter = make("partial")
        original: dict[str, Any] = {"levels": [10]}
        await adapter.write_value("sig-1", original)
        original["levels"].append(20)
        first = await adapter.read_value("sig-1")
        first["levels"].append(30)
        return first, await adapter.read_value("sig-1")

    first, second = run(scenario)
    assert first == {"levels": [10, 30]}
    assert second == {"levels": [10]}


def test_moved_aside_keys_are_hidden_from_keys_values_and_remove_all(make: AdapterMaker) -> None:
    async def scenario() -> tuple[list[str], list[Any], list[str], list[str], Any]:
        adapter = make("signal")
        aside = f"{KEY}#corrupt-20240101T000000Z"
        await adapter.write_value(aside, {"error": "bad", "value": 1})
        await adapter.write_value(KEY, 2)
        keys, values = await adapter.keys(), await adapter.values()
        await adapter.remove_all()
        return keys, values, await adapter.keys(), await adapter.corrupt_keys(), await adapter.read_value(aside)

    assert run(scenario) == (
        [KEY],
        [2],
        [],
        [f"{KEY}#corrupt-20240101T000000Z"],
        {"error": "bad", "value": 1},
    )


@pytest.mark.parametrize("kind", ["json", "sqlite"])
def test_concurrent_wait_for_init_callers_share_one_attempt_and_a_failure_is_retried(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls: Any = persist.JsonFileAdapter if kind == "json" else persist.SqliteAdapter
    original = cls._initialise
    attempts: list[int] = []

    async def slow_initialise(self: Any) -> None:
        attempts.append(1)
        await asyncio.sleep(0.02)
        if len(attempts) == 1:
            raise OSError("disk not ready")
        await original(self)

    monkeypatch.setattr(cls, "_initialise", slow_initialise)
    adapter = cls("signal", tmp_path / "store")

    async def scenario() -> tuple[list[Any], int, list[Any], int]:
        first = await asyncio.gather(*(adapter.wait_for_init() for _ in range(3)), return_exceptions=True)
        after_failure = len(attempts)
        second = await asyncio.gather(
            *(adapter.wait_for_init() for _ in range(4)), adapter.write_value(KEY, 1), adapter.keys()
        )
        await adapter.wait_for_init()
        return first, after_failure, second, len(attempts)

    first, after_failure, second, total = run(scenario)
    assert [str(outcome) for outcome in first] == ["disk not ready"] * 3
    assert after_failure == 1
    assert second == [None, None, None, None, None, [KEY]]
    assert total == 2


def test_an_init_waiter_that_is_cancelled_does_not_cancel_the_others(tmp_path: Path) -> None:
    adapter = persist.SqliteAdapter("signal", tmp_path / "state.sqlite3")

    async def scenario() -> list[str]:
        impatient = asyncio.ensure_future(adapter.wait_for_init())
        patient = asyncio.ensure_future(adapter.wait_for_init())
        await asyncio.sleep(0)
        impatient.cancel()
        await patient
        await adapter.write_value(KEY, 1)
        return await adapter.keys()

    assert run(scenario) == [KEY]


# --- JSON files on disk ----------------------------------------------------------------------------------------


def test_json_records_are_files_named_by_the_percent_encoded_key(tmp_path: Path) -> None:
    adapter = persist.JsonFileAdapter("signal", tmp_path)

    async def scenario() -> None:
        await adapter.write_value(KEY, {"id": "sig-1"})
        await adapter.write_value("a/b", 1)

    run(scenario)
    assert sorted(path.name for path in (tmp_path / "signal").iterdir()) == ["BTCUSDT%3Aone-shot.json", "a%2Fb.json"]
    assert (tmp_path / "signal" / "BTCUSDT%3Aone-shot.json").read_text(encoding="utf-8") == '{"id": "sig-1"}'


def test_json_leftover_temp_files_are_removed_at_init_and_ignored_afterwards(tmp_path: Path) -> None:
    folder = tmp_path / "signal"
    folder.mkdir()
    (folder / "BTCUSDT%3Aone-shot.json").write_text('{"v": 1}', encoding="utf-8")
    (folder / "BTCUSDT%3Aone-shot.json.k3j9x_ab.tmp").write_text('{"v": 2', encoding="utf-8")
    (folder / "notes.txt").write_text("the trader's own file", encoding="utf-8")
    adapter = persist.JsonFileAdapter("signal", tmp_path)

    async def scenario() -> tuple[list[str], list[Any], list[str]]:
        await adapter.wait_for_init()
        after_init = sorted(path.name for path in folder.iterdir())
        (folder / "ETHUSDT%3Aone-shot.json.zz.tmp").write_text("{", encoding="utf-8")
        return after_init, await adapter.values(), await adapter.keys()

    after_init, values, keys = run(scenario)
    assert after_init == ["BTCUSDT%3Aone-shot.json", "notes.txt"]
    assert values == [{"v": 1}]
    assert keys == [KEY]


def test_json_folder_that_cannot_be_created_gives_an_os_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the state folder should go", encoding="utf-8")
    adapter = persist.JsonFileAdapter("signal", blocker)

    with pytest.raises(NotADirectoryError) as caught:
        run(adapter.wait_for_init)
    assert (
        str(caught.value) == f"[Errno 20] cannot create the signal state folder {blocker / 'signal'}: Not a directory"
    )


def test_sqlite_file_that_cannot_be_created_gives_an_os_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should go", encoding="utf-8")
    adapter = persist.SqliteAdapter("signal", blocker / "sub" / "state.sqlite3")

    with pytest.raises(NotADirectoryError) as caught:
        run(adapter.wait_for_init)
    assert str(caught.value) == (
        f"[Errno 20] cannot create the folder of the live state database {blocker / 'sub'}: Not a directory"
    )


def test_sqlite_file_that_is_not_a_database_gives_an_os_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"this is not a database, it is a shopping list" * 100)
    adapter = persist.SqliteAdapter("signal", path)

    with pytest.raises(OSError) as caught:
        run(adapter.wait_for_init)
    assert str(caught.value) == f"cannot open the live state database {path}: file is not a database"


# --- L10: corrupt records are moved aside ----------------------------------------------------------------------


def test_l10_undecodable_json_file_is_renamed_aside_at_init_and_reported_once(
    tmp_path: Path, errors: list[ErrorEvent], caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "state" / "signal"
    folder.mkdir(parents=True)
    (folder / "BTCUSDT%3Aone-shot.json").write_text("{not json", encoding="utf-8")
    (folder / "ETHUSDT%3Aone-shot.json").write_text('{"v": 1}', encoding="utf-8")
    persist.use_json(tmp_path / "state")
    adapter: Any = persist.adapter("signal")
    before = int(time.time())

    async def scenario() -> tuple[bool, list[str], list[str]]:
        await adapter.wait_for_init()
        await adapter.wait_for_init()
        return await adapter.has_value(KEY), await adapter.keys(), await adapter.corrupt_keys()

    with caplog.at_level(logging.ERROR, logger="workstation.persist"):
        has_value, keys, corrupt_keys = run(scenario)

    names = sorted(path.name for path in folder.iterdir())
    assert len(names) == 2
    assert names[1] == "ETHUSDT%3Aone-shot.json"
    match = re.fullmatch(rf"BTCUSDT%3Aone-shot\.json\.corrupt-({STAMP})", names[0])
    assert match is not None, names
    stamp = match.group(1)
    assert before - 1 <= stamp_seconds(stamp) <= int(time.time())
    assert (folder / names[0]).read_text(encoding="utf-8") == "{not json"
    assert (has_value, keys, corrupt_keys) == (False, ["ETHUSDT:one-shot"], [f"{KEY}#corrupt-{stamp}"])
    expected = (
        f'signal record "BTCUSDT:one-shot" in {folder} is not valid JSON (Expecting property name enclosed in '
        f"double quotes: line 1 column 2 (char 1)); the file was renamed {names[0]}"
    )
    assert [(event.source, event.exception_type, event.message, event.backtest) for event in errors] == [
        ("persist", "CorruptRecordError", expected, False)
    ]
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "workstation.persist"] == [
        (logging.ERROR, expected)
    ]
    with pytest.raises(KeyError):
        run(lambda: adapter.read_value(KEY))


def test_json_file_spoiled_after_init_is_moved_aside_on_read(tmp_path: Path, errors: list[ErrorEvent]) -> None:
    adapter = persist.JsonFileAdapter("schedule", tmp_path)

    async def scenario() -> list[Any]:
        await adapter.write_value("a", 1)
        await adapter.write_value("b", 2)
        (tmp_path / "schedule" / "a.json").write_bytes(b"\xff\xfe not utf-8")
        values = await adapter.values()
        return [values, await adapter.keys(), len(await adapter.corrupt_keys())]

    assert run(scenario) == [[2], ["b"], 1]
    assert len(errors) == 1
    assert errors[0].message.startswith('schedule record "a" in ')
    assert "'utf-8' codec can't decode byte 0xff in position 0" in errors[0].message


def test_a_second_corruption_in_the_same_second_gets_its_own_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errors: list[ErrorEvent]
) -> None:
    monkeypatch.setattr(corrupt, "corrupt_stamp", lambda: "20240101T000000Z")
    adapter = persist.JsonFileAdapter("signal", tmp_path)
    target = tmp_path / "signal" / "BTCUSDT%3Aone-shot.json"

    async def scenario() -> list[str]:
        await adapter.wait_for_init()
        for garbage in ("{first", "{second"):
            target.write_text(garbage, encoding="utf-8")
            with pytest.raises(KeyError):
                await adapter.read_value(KEY)
        return await adapter.corrupt_keys()

    assert run(scenario) == [f"{KEY}#corrupt-20240101T000000Z", f"{KEY}#corrupt-20240101T000000Z-2"]
    folder = tmp_path / "signal"
    assert (folder / "BTCUSDT%3Aone-shot.json.corrupt-20240101T000000Z").read_text(encoding="utf-8") == "{first"
    assert (folder / "BTCUSDT%3Aone-shot.json.corrupt-20240101T000000Z-2").read_text(encoding="utf-8") == "{second"
    assert len(errors) == 2


def _sqlite_rows(path: Path) -> list[tuple[str, str, Any]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT entity, key, value FROM records ORDER BY entity, key").fetchall()
    connection.close()
    return rows


def test_l10_undecodable_sqlite_rows_are_rekeyed_aside_at_init_and_reported(
    tmp_path: Path, errors: list[ErrorEvent]
) -> None:
    path = tmp_path / "state.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE records (entity TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
            "updated_at INTEGER NOT NULL, PRIMARY KEY (entity, key))"
        )
        connection.executemany(
            "INSERT INTO records VALUES (?, ?, ?, 0)",
            [
                ("signal", KEY, "{not json"),
                ("signal", "ETHUSDT:one-shot", '{"v": 1}'),
                ("signal", "SOLUSDT:one-shot", b"\x00\xff"),
                ("schedule", KEY, "{not json either"),
            ],
        )
    connection.close()
    persist.use_sqlite(path)
    adapter = persist.adapter("signal")
    before = int(time.time())

    async def scenario() -> tuple[bool, list[str], list[Any]]:
        await adapter.wait_for_init()
        return await adapter.has_value(KEY), await adapter.keys(), await adapter.values()

    has_value, keys, values = run(scenario)
    assert (has_value, keys, values) == (False, ["ETHUSDT:one-shot"], [{"v": 1}])
    rows = _sqlite_rows(path)
    assert [row[0] for row in rows] == ["schedule", "signal", "signal", "signal"]
    assert rows[0] == ("schedule", KEY, "{not json either")
    match = re.fullmatch(rf"BTCUSDT:one-shot#corrupt-({STAMP})", rows[1][1])
    assert match is not None, rows
    assert before - 1 <= stamp_seconds(match.group(1)) <= int(time.time())
    assert rows[1][2] == "{not json"
    assert rows[2] == ("signal", "ETHUSDT:one-shot", '{"v": 1}')
    assert re.fullmatch(rf"SOLUSDT:one-shot#corrupt-{STAMP}", rows[3][1]) is not None
    assert rows[3][2] == b"\x00\xff"
    assert [event.message for event in errors] == [
        f'signal record "BTCUSDT:one-shot" in {path} is not valid JSON (Expecting property name enclosed in double '
        f'quotes: line 1 column 2 (char 1)); the row was re-keyed "{rows[1][1]}"',
        f"signal record \"SOLUSDT:one-shot\" in {path} is not valid JSON ('utf-8' codec can't decode byte 0xff in "
        f'position 1: invalid start byte); the row was re-keyed "{rows[3][1]}"',
    ]
    with pytest.raises(KeyError):
        run(lambda: adapter.read_value(KEY))


def test_l10_a_record_of_the_wrong_shape_is_moved_aside_by_read_record(
    make: AdapterMaker, errors: list[ErrorEvent], caplog: pytest.LogCaptureFixture
) -> None:
    stored = {"id": "sig-1", "position": "sideways"}
    with pytest.raises(ValidationError) as expected_error:
        ws.SignalRow.model_validate(stored)
    validation_message = str(expected_error.value)
    adapter = make("signal")

    async def scenario() -> tuple[Any, bool, list[str], list[str], Any]:
        await adapter.write_value(KEY, stored)
        record = await persist.read_record(adapter, KEY, ws.SignalRow, entity="signal")
        aside = await adapter.corrupt_keys()
        return record, await adapter.has_value(KEY), await adapter.keys(), aside, await adapter.read_value(aside[0])

    with caplog.at_level(logging.ERROR, logger="workstation.persist"):
        record, has_value, keys, aside, moved = run(scenario)

    assert (record, has_value, keys) == (None, False, [])
    assert len(aside) == 1
    assert re.fullmatch(rf"BTCUSDT:one-shot#corrupt-{STAMP}", aside[0]) is not None
    assert moved == {"error": validation_message, "value": stored}
    assert "13 validation errors for SignalRow" in validation_message
    expected = (
        f'signal record "BTCUSDT:one-shot" does not match SignalRow: {validation_message}; it was moved to "{aside[0]}"'
    )
    assert [(event.source, event.exception_type, event.message) for event in errors] == [
        ("persist", "CorruptRecordError", expected)
    ]
    assert [r.getMessage() for r in caplog.records if r.name == "workstation.persist"] == [expected]


def test_read_record_returns_an_equal_row_and_none_when_missing(make: AdapterMaker, errors: list[ErrorEvent]) -> None:
    adapter = make("signal")

    async def scenario() -> tuple[Any, Any]:
        await persist.write_record(adapter, KEY, ROW)
        return (
            await persist.read_record(adapter, KEY, ws.SignalRow, entity="signal"),
            await persist.read_record(adapter, "ETHUSDT:one-shot", ws.SignalRow, entity="signal"),
        )

    assert run(scenario) == (ROW, None)
    assert errors == []


# --- ws.persist: choosing the storage --------------------------------------------------------------------------


def test_the_default_is_one_sqlite_file_in_the_user_data_folder_created_lazily(tmp_path: Path) -> None:
    expected_path = tmp_path / "user_data_dir" / "state.sqlite3"
    signal = persist.adapter("signal")

    assert persist.default_state_path() == expected_path
    assert isinstance(signal, persist.SqliteAdapter)
    assert signal.path == expected_path
    assert persist.adapter("signal") is signal
    assert not (tmp_path / "user_data_dir").exists()
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("workstation-")]

    run(signal.wait_for_init)
    risk = persist.adapter("risk")
    assert isinstance(risk, persist.SqliteAdapter)
    assert risk.path == expected_path
    assert risk.database is signal.database
    assert expected_path.is_file()


def test_use_json_switches_every_entity_and_reset_goes_back_to_sqlite(tmp_path: Path) -> None:
    before = persist.adapter("signal")
    persist.use_json(tmp_path / "json-state")
    after = persist.adapter("signal")

    assert after is not before
    assert isinstance(after, persist.JsonFileAdapter)
    assert after.base_dir == tmp_path / "json-state"
    assert after.folder == tmp_path / "json-state" / "signal"
    assert [type(persist.adapter(entity)).__name__ for entity in persist.ENTITIES] == ["JsonFileAdapter"] * 4

    persist.reset_persistence()
    restored = persist.adapter("signal")
    assert isinstance(restored, persist.SqliteAdapter)
    assert restored.path == tmp_path / "user_data_dir" / "state.sqlite3"


def test_use_json_and_use_sqlite_without_arguments_use_the_user_data_folder(tmp_path: Path) -> None:
    persist.use_json()
    json_adapter = persist.adapter("partial")
    assert isinstance(json_adapter, persist.JsonFileAdapter)
    assert json_adapter.base_dir == tmp_path / "user_data_dir" / "state"
    persist.use_sqlite(tmp_path / "elsewhere.sqlite3")
    elsewhere = persist.adapter("partial")
    assert isinstance(elsewhere, persist.SqliteAdapter)
    assert elsewhere.path == tmp_path / "elsewhere.sqlite3"
    persist.use_sqlite()
    default = persist.adapter("partial")
    assert isinstance(default, persist.SqliteAdapter)
    assert default.path == tmp_path / "user_data_dir" / "state.sqlite3"


def test_use_memory_keeps_state_across_lookups_until_reset() -> None:
    persist.use_memory()

    async def write() -> None:
        await persist.adapter("signal").write_value(KEY, {"v": 1})

    async def read() -> list[str]:
        return await persist.adapter("signal").keys()

    run(write)
    assert isinstance(persist.adapter("signal"), persist.MemoryAdapter)
    assert run(read) == [KEY]
    persist.use_memory()
    assert run(read) == []


def test_one_entity_adapter_can_be_replaced_and_a_storage_switch_replaces_it_again(tmp_path: Path) -> None:
    asked: list[str] = []

    def factory(entity: str) -> PersistAdapter:
        asked.append(entity)
        return persist.MemoryAdapter(entity)

    persist.use_json(tmp_path)
    persist.use_signal_adapter(factory)
    persist.use_schedule_adapter(factory)
    persist.use_risk_adapter(factory)
    persist.use_partial_adapter(factory)
    assert [type(persist.adapter(entity)).__name__ for entity in persist.ENTITIES] == ["MemoryAdapter"] * 4
    assert isinstance(persist.adapter("closed"), persist.JsonFileAdapter)
    assert asked == ["signal", "schedule", "risk", "partial"]

    persist.use_sqlite(tmp_path / "state.sqlite3")
    assert [type(persist.adapter(entity)).__name__ for entity in persist.ENTITIES] == ["SqliteAdapter"] * 4


def test_replacing_one_entity_leaves_the_others_and_drops_only_its_adapter() -> None:
    schedule = persist.adapter("schedule")
    persist.use_signal_adapter(persist.MemoryAdapter)
    assert isinstance(persist.adapter("signal"), persist.MemoryAdapter)
    assert persist.adapter("schedule") is schedule


def test_bad_entity_names_and_bad_factories_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match=r"^entity must be a lower-case name such as 'signal', got 'Open Positions'$"):
        persist.adapter("Open Positions")
    with pytest.raises(TypeError, match=r"^the signal adapter factory must be callable as factory\(entity\), got 42$"):
        persist.use_signal_adapter(42)  # type: ignore[arg-type]
    persist.use_risk_adapter(lambda entity: object())  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match=r"^the risk adapter factory returned <object object at .*>, which lacks"):
        persist.adapter("risk")


def test_close_persistence_stops_the_threads_and_the_next_call_reopens(tmp_path: Path) -> None:
    persist.use_sqlite(tmp_path / "state.sqlite3")

    def storage_threads() -> list[str]:
        return [thread.name for thread in threading.enumerate() if thread.name.startswith("workstation-")]

    async def scenario() -> tuple[list[str], list[str], Any]:
        await persist.adapter("signal").write_value(KEY, 1)
        running = storage_threads()
        await persist.close_persistence()
        stopped = storage_threads()
        return running, stopped, await persist.adapter("signal").read_value(KEY)

    running, stopped, value = run(scenario)
    assert len(running) == 1
    assert running[0].startswith("workstation-sqlite-state")
    assert stopped == []
    assert value == 1
