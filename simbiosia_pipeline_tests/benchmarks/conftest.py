"""The suite under test lives in ``benchmarks/`` at the project's top level, which is not an
installed package: make it importable (a regular package there wins over this test folder,
which Python would otherwise see as a namespace package of the same name)."""

import sys

from simbiosia_pipeline.settings import PROJECT_DIR

if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))
