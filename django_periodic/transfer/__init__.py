"""Schedules as files: export every periodic task by value, and apply such a file.

``document`` turns tasks into a JSON or YAML document and back; ``apply`` applies one
through the models (validation and the change feed). The ``periodic_tasks export``
and ``import`` commands are thin over these.
"""
