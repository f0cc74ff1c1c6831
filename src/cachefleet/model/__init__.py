"""The vocabulary of the whole system: pure data, no I/O.

Everything here is a frozen dataclass, a StrEnum or a pure function over them. Any package may
import `model`; `model` imports nothing else from cachefleet but `errors`.
"""
