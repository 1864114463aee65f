"""The checks of the File storage step. The chosen provider (`wizard.providers.<name>`) runs each of them:

  storage.access     volume (local); endpoint, credentials, bucket/container, region, probe object
  storage.cors       CORS for the server's origin (with a merging fix)
  storage.preflight  a browser's OPTIONS preflight on a signed PUT URL, as `wandb verify` does
  storage.events     the object-created path: SQS / Pub/Sub / Azure queue, end to end where it can run
  storage.extras     KMS key and notifications queue (S3), signBlob (GCS), private container (Azure)
"""

from __future__ import annotations

from wizard.checks.storage_common import EVENTS_TIMEOUT
from wizard.providers import slot

slot("storage", "storage.access", "Bucket, credentials and a test object")
slot("storage", "storage.cors", "CORS for the server's origin", needs_credentials=True)
slot("storage", "storage.preflight", "Browser upload preflight", needs_credentials=True)
slot("storage", "storage.events", "Object-created events", timeout=EVENTS_TIMEOUT, needs_credentials=True)
slot("storage", "storage.extras", "Encryption, signing and access", needs_credentials=True)
