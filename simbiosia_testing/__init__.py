"""What the tests (``simbiosia_pipeline_tests``) and the benchmarks (``benchmarks``) both stand on.

Neither imports the other; both import this: scratch databases and free ports on this machine
(``local_servers``), the Dagster webserver and daemon as subprocesses (``dagster_services``), and
the one comparison of the raw tables with the sandbox's ground truth (``truth``).
"""
