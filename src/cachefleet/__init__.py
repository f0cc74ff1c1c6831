"""cachefleet: a self-hosted, ElastiCache-compatible managed Redis OSS service."""

__version__ = "0.1.0"
