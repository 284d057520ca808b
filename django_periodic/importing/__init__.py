"""Moving schedules into django-periodic from elsewhere.

``dcb_source`` reads django-celery-beat's tables (whether or not that app is installed),
``dcb_plan`` turns their rows into ours (the plan), ``dcb`` writes it, ``progress`` shows how far
a long import has come. ``manage.py periodic_tasks import-django-celery-beat`` drives them.
"""
