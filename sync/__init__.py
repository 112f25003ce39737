"""The daemon: store, pipeline, Celery tasks, webhook API and CLI. The only package that knows all three."""
