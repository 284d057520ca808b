"""Beat's machinery, used by :mod:`django_periodic.schedulers` (the public entry point).

plans (when each task runs, in memory), loading (rows into plans), runs (what is
sent), recording (run state, in one fenced transaction), sending (publish and
broker retries), publish (the one send function, shared with the admin's run now),
leadership (the lease and its fence), code_schedules (``beat_schedule`` in the database),
monitor and metrics (the heartbeat file and Prometheus metrics, for operators).
"""
