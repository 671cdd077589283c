"""The backoffice: the cost dashboard of operations and finance (Streamlit).

It reads only the marts (the hourly snapshots, ``call_costs``, the hourly aggregates
``twilio_direction_hours``, ``elevenlabs_llm_usage_hours`` and ``unattributed_number_hours``,
``workspace_daily_costs``'s directory tables, ``billing_reconciliation`` where it exists) through
SQLAlchemy + pandas, connected as the read-only dashboard role (``simbiosia db
grant-dashboard-role``). ``app.py`` is the Streamlit entry point; ``simbiosia backoffice``
(``launcher.py``) starts it. Everything a page shows is computed by the pure modules beside it
(``periods``, ``queries``, ``money``, ``exports``), which the tests drive directly too.
"""
