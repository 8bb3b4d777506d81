"""Market data dialogs: import candles from a CSV, see and manage the stored series, download history."""

from ui.data.download_dialog import DownloadHistoryDialog
from ui.data.import_dialog import ImportCsvDialog
from ui.data.stored_data_dialog import StoredDataDialog

__all__ = ["DownloadHistoryDialog", "ImportCsvDialog", "StoredDataDialog"]
