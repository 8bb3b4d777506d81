"""Example strategies a trader would recognise; each module exposes ``make_strategy(params)``."""
