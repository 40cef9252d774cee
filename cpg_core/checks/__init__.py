"""Data tests evaluated against stored tables: one evaluator for the CLI, builds and Dagster.

Layer: above `artifacts` (results are `DataTestResult` contracts), below `execute` (a build
calls it after storing a view). `planned_tests` (plan layer) says what to test; `evaluate`
runs one test over Arrow tables or lazy datasets in DataFusion (`evaluate_all` many, sharing
queries); `run_tests` runs a plan's tests against the store with the result cache (`cpg
test`); `DataTestSession` runs a build's tests as it stores each view; `report` renders
results for people.
"""
