"""Sending orders: the engine's broker contract (19.5's ``IBroker``), the order records and the venues orders go to.

The engine calls a :class:`~workstation.brokers.broker.Broker` before it changes a live position (the *gates*) and
on every live tick while it holds one (the *checks*); backtests never call one. A broker turns those calls into
orders (:class:`~workstation.brokers.orders.OrderRequest`) sent to a :class:`~workstation.brokers.venue.Venue`: the
paper venue simulating fills on the live candles, or an exchange through ccxt.
"""
