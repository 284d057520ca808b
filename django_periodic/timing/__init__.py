"""Pure time math: crontab fields, zones, schedule objects, next runs, words for a schedule.

Nothing here touches the database or reads a global clock: callers pass ``now``.
"""
