"""For tests and benchmarks only, never imported at run time (an import-linter contract):
generated media (``synthetic``), random-weight models (``models``), and the app, Redis and
Celery workers as real processes (``processes``)."""
