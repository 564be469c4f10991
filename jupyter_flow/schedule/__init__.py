"""Scheduled runs of exported flows: one API (``api.py``), four targets behind the
``schedule`` seam in ``plugins.py`` (local daemon, Kubernetes CronJob, Argo CronWorkflow,
AWS EventBridge Scheduler). See docs/schedule.md."""
