"""The order desk in the window: Orders, Fills, Positions and Account docks, the order ticket, the kill switch, the
real-money marks, and the desk's orders and fills on the live chart."""

from ui.desk.desk_view import DeskView
from ui.desk.kill_switch import KillSwitch
from ui.desk.real_money import RealMoneyBanner, RealMoneyConfirmation
from ui.desk.ticket import OrderTicket, TicketValues

__all__ = ["DeskView", "KillSwitch", "OrderTicket", "RealMoneyBanner", "RealMoneyConfirmation", "TicketValues"]
