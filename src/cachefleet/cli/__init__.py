"""The ``cachefleet`` command line: a thin client of cachefleet's HTTP API, plus ``serve``.

Rule: API-backed commands speak only the ElastiCache Query API over HTTP, through botocore (see
``client.py``); nothing here imports the service, store or engine packages. ``serve`` alone
imports ``cachefleet.daemon``, lazily.
"""
