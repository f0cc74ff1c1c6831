"""The engine: start, adopt, stop, observe and command redis-server and redis-sentinel processes.

Rules this package keeps:

- it knows nothing about AWS, the store or the reconcile loop; it speaks in addresses, ports,
  paths and typed observations;
- Redis's own words (``REPLICAOF``, ``role:master``, ``master_link_status``) appear only here;
- every network call has an explicit short timeout and no blocking retries; every wait is bounded;
- processes are started detached, in their own session, so that they outlive the control plane.

Modules: ``binaries`` (which engines exist), ``paths`` (files of a process), ``conf`` (pure
rendering), ``process`` (spawn, adopt, stop), ``probe`` (observe a node), ``commands`` (rewire and
configure a node), ``cluster`` (Redis Cluster), ``sentinel`` (Sentinel), ``client`` and ``waiting``
(short-lived connections and bounded waits, shared by the others).
"""
