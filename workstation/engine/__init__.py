"""Runners: backtest (and later live, walker, optimizer) as async generators."""
