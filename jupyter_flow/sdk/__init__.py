"""One module per optional SDK: where its configuration is loaded and its clients are made.

``kube`` (the ``kubernetes`` client) and ``aws`` (``boto3``) are used by every caller of
that SDK: the remote executors, the schedule targets and the S3 store. They sit below
``runtime``, ``schedule`` and ``store`` (they import only ``errors``), so each of those may
use them without importing another. Nothing here imports an SDK until a client is asked for.
"""
