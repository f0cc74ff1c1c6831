"""The control loop: desired state against observed state, then actions.

`plan` is pure; `execute` carries actions out through the `Engine` and `Router` seams; `loop`
runs one worker per group. Imports `model`, `store` and the seams' Protocols only.
"""
