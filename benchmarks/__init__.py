"""The benchmark suite of issue 7: how close ingestion comes to the API's rate-limit bound.

``make bench`` (``python -m benchmarks``) measures eight figures against the sandbox served
over real HTTP from a process of its own and the PostgreSQL server at 127.0.0.1:5432, prints a
table and writes ``benchmarks/results/latest.json``. ``python -m benchmarks --smoke`` runs every
benchmark on a tiny workload (what CI checks: the harness works and every run is correct).
See ``benchmarks/README.md`` for what each figure means and how it is measured.
"""
