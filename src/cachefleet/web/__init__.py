"""The daemon's HTTP surfaces, assembled in one app: the ElastiCache Query API at ``/``, the web
console at ``/console``, ``/health``; each further surface (``/metrics``, webhooks, log
streams) is one more module here and one more entry in `app.build_app`."""
