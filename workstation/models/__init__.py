"""Data models of the engine: candle arrays, signals, tick results and event payloads."""
