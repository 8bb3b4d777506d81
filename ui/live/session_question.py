"""The question a paper start asks when a session with the same settings is stored: resume it, or start afresh."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

import workstation as ws


class PaperSessionQuestion(QMessageBox):
    """Ask whether to resume the stored session or start a new one (forgetting it); :meth:`answer` awaits it.

    Parameters
    ----------
    request
        The session the trader asked for.
    stored
        What the stored session with the same settings holds, in words.
    parent
        The parent widget.
    """

    def __init__(self, request: ws.PaperTradingRequest, stored: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Paper session")
        self.setIcon(QMessageBox.Icon.Question)
        self.setText(f"A paper session of {request.strategy_name} on {request.symbol} with these settings is stored.")
        self.setInformativeText(
            f"It {stored}. Resume it where it stopped, or start a new session from the start (the stored one is "
            "forgotten)?"
        )
        self.request = request
        self.resume_button: QPushButton = self.addButton("Resume it", QMessageBox.ButtonRole.AcceptRole)
        self.new_button: QPushButton = self.addButton("Start new", QMessageBox.ButtonRole.DestructiveRole)
        self.cancel_button: QPushButton = self.addButton(QMessageBox.StandardButton.Cancel)
        self.setDefaultButton(self.resume_if_asked())

    def resume_if_asked(self) -> QPushButton:
        """Return the button matching the session chosen in the form, the default answer."""
        return self.resume_button if self.request.session == "resume" else self.new_button

    async def answer(self) -> ws.PaperTradingRequest | None:
        """Show the question (window-modal, without blocking the loop) and return the chosen request, or None."""
        answered: asyncio.Future[ws.PaperTradingRequest | None] = asyncio.get_running_loop().create_future()

        def on_finished(_result: int) -> None:
            clicked = self.clickedButton()
            session = "resume" if clicked is self.resume_button else "new" if clicked is self.new_button else None
            if not answered.done():
                answered.set_result(None if session is None else self.request.model_copy(update={"session": session}))

        self.finished.connect(on_finished)
        self.open()
        return await answered
