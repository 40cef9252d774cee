"""Data tests evaluated against stored tables: one evaluator for the CLI, builds and Dagster.

Layer: above `artifacts` (results are `DataTestResult` contracts), below `execute` (a build
calls it after storing a view). `planned_tests` (plan layer) says what to test; `evaluate`
runs one test over Arrow tables or lazy datasets in DataFusion; `run_tests` runs a plan's tests
against the store with the result cache; `report` renders results for people.
"""
