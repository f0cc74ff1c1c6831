"""Use cases shared by the API, the console and the CLI.

Validates requests with ElastiCache's rules and messages, writes specs and operations to the store
and wakes the reconcile loop. Never touches a process: imports `store` and `model` only.
"""
