from screens.steps.base import StepView


class StorageStep(StepView):
    STEP = "storage"
    INTRO = "Where W&B keeps run files and artifacts."
    PROVIDER_HELP = "Storage provider (Enter opens the list)"
    NOTHING_TO_SET = {"local": "Files stay in the container's /vol volume (see Server options): nothing to set."}
    HELP = ("Local volume keeps files in the data volume. The cloud stores need a bucket (container) the server can "
            "write, a CORS rule allowing the server's address, and optionally a queue that receives "
            "object-created events.\n\n"
            "Amazon S3: bucket, region, SQS queue name (not its URL). S3-compatible (MinIO, …): endpoint host:port, "
            "bucket, region, keys. Google Cloud Storage: bucket, Pub/Sub project, topic and subscription. Azure: "
            "storage account, container, queue and access key.\n\n"
            "The boxes below the fields hold the CORS rule, the SQS policy or the gsutil command, built from your "
            "values: Tab to one and press Enter or c to copy it.")

    def has_instructions(self) -> bool:
        return True
