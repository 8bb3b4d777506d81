"""The order desk: one per venue, the single place every order passes (kill switch, risk gate, journal, monitors).

:class:`~workstation.desk.desk.OrderDesk` satisfies the brokers' ``OrderRoute``; its limits are
:class:`~workstation.desk.limits.RiskLimits`, its refusals :class:`~workstation.desk.limits.OrderRefused`, and its
reconciliation compares :class:`~workstation.desk.reconcile.HeldPosition` rows with the venue.
"""

from workstation.desk.desk import OrderDesk
from workstation.desk.flatten import FlattenReport
from workstation.desk.holdings import Holding
from workstation.desk.limits import OrderRefusal, OrderRefused, RiskLimits
from workstation.desk.reconcile import Disagreement, HeldPosition, Reconciliation

__all__ = [
    "Disagreement",
    "FlattenReport",
    "HeldPosition",
    "Holding",
    "OrderDesk",
    "OrderRefusal",
    "OrderRefused",
    "Reconciliation",
    "RiskLimits",
]
