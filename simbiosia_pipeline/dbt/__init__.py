"""The dbt project (``dbt_project/``) wired into Dagster, one concern per module:

- ``project``: where the dbt project is (the checkout's ``dbt_project/``, or the copy shipped
  inside the package) and how its manifest is prepared — never at import;
- ``environment``: the environment of one dbt process (warehouse, time window, settings);
- ``resources``: the dbt CLI resource, and the private directory each dbt invocation runs in;
- ``launcher``: the ``simbiosia-dbt`` executable, dbt started with that environment;
- ``translator``: dbt nodes as Dagster assets (keys, groups, owners, code versions);
- ``metadata``: what the cost assets report about each hour and day after a build;
- ``assets``: the two asset definitions.
"""
