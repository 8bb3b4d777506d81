"""The backtest area of the window: the form that asks for a run, and the tabs that show runs."""
