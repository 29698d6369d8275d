"""The public settings: their table (:mod:`~batchode.options.table`), value checks
(:mod:`~batchode.options.values`) and help with unknown names (:mod:`~batchode.options.names`)."""

from batchode.options.names import FOREIGN_NAMES, unknown_setting_message
from batchode.options.table import BY_NAME, OPTIONS, OWNERS, Option, defaults, markdown_table, numpydoc_entries

__all__ = ["BY_NAME", "FOREIGN_NAMES", "OPTIONS", "OWNERS", "Option", "defaults", "markdown_table",
           "numpydoc_entries", "unknown_setting_message"]
