"""The workspace directory: which workspace owns each phone number and agent, and when.

``load_directory`` reads and validates the YAML file, ``write_directory`` loads it into the
warehouse, and ``normalize_e164`` is the one definition of how a phone number is compared.
"""

from simbiosia_pipeline.workspaces.loader import DirectoryError, load_directory
from simbiosia_pipeline.workspaces.models import (
    Budgets,
    CreditRate,
    CurrencyRate,
    Directory,
    PhoneAssignment,
    Pricing,
    Workspace,
)
from simbiosia_pipeline.workspaces.phone_numbers import is_e164, normalize_e164
from simbiosia_pipeline.workspaces.writer import DirectorySummary, write_directory

__all__ = [
    "Budgets",
    "CreditRate",
    "CurrencyRate",
    "Directory",
    "DirectoryError",
    "DirectorySummary",
    "PhoneAssignment",
    "Pricing",
    "Workspace",
    "is_e164",
    "load_directory",
    "normalize_e164",
    "write_directory",
]
