"""Celery worker and beat: analysis jobs, the reaper, archive scans and retention."""
