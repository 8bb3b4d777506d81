"""The desktop window: PySide6 widgets and pyqtgraph charts over the ``workstation`` model (DESIGN.md §1)."""
