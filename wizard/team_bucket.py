"""A team's own bucket (W&B's secure storage connector), checked before the team is created.

A team can keep its files in its own AWS S3 or Google Cloud Storage bucket (with an optional KMS key); it is set
once, in the team creation form, and a mistake there cannot be changed later. The check is the File storage step's,
on that bucket, with the credentials the server has (the File storage step's keys or key file when it uses the same
cloud, else the machine's own role or service account): the bucket exists and is in the region, a probe object can
be written, read and deleted, CORS lets the server's HOST GET and PUT (with the fix offered), the KMS key can
encrypt and decrypt, and for GCS the server's account can sign URLs (signBlob). The object-created queue is the
instance's own, not the team's: not checked here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from wizard.config import InstallConfig
    from wizard.report import StepReport

PROVIDERS = ("s3", "gcs")
SLOTS = ("storage.access", "storage.cors", "storage.preflight", "storage.extras")
OPTIONS = {"bucket": "--bucket", "region": "--region", "kms_key_arn": "--kms-key"}  # field -> command-line option


@dataclass(frozen=True)
class TeamBucket:
    provider: str  # "s3" or "gcs"
    bucket: str
    region: str | None = None  # S3 only
    kms_key: str | None = None  # S3 only (an ARN)

    def form_values(self) -> list[tuple[str, str]]:
        """What to enter in W&B's team creation form (Storage), exactly."""
        if self.provider == "s3":
            return [("Cloud provider", "AWS"), ("Bucket name", self.bucket), ("Region", self.region or ""),
                    ("KMS key ARN", self.kms_key or "(leave empty)")]
        return [("Cloud provider", "GCP"), ("Bucket name", self.bucket)]


class TeamBucketInvalid(ValueError):
    """The bucket, region or key as given cannot be a team bucket: the message names the option."""


def team_section(team: TeamBucket, storage: Any) -> Any:
    """The team's bucket as the server will use it: a File storage section with the server's credentials."""
    from wizard.draft import validate_step

    same_cloud = getattr(storage, "provider", None) == team.provider
    secrets: dict[str, str] = {}
    if team.provider == "s3":
        if team.region is None:
            raise TeamBucketInvalid("--region is required for an S3 bucket (e.g. us-east-1)")
        values: dict[str, Any] = {"bucket": team.bucket, "region": team.region, "kms_key_arn": team.kms_key}
        if same_cloud and storage.access_key_id and storage.secret_access_key is not None:
            values["access_key_id"] = storage.access_key_id
            secrets["storage.s3.secret_access_key"] = storage.secret_access_key.get_secret_value()
        else:
            values["instance_role"] = True
    elif team.provider == "gcs":
        if team.region or team.kms_key:
            raise TeamBucketInvalid("--region and --kms-key are for S3 buckets: a GCS bucket has its own location "
                                    "and default key")
        values = {"bucket": team.bucket}
        if same_cloud and storage.credentials_file:
            values["credentials_file"] = storage.credentials_file
        else:
            values["instance_account"] = True
    else:
        raise TeamBucketInvalid(f"--provider must be one of {', '.join(PROVIDERS)}, not {team.provider!r}")
    section, errors = validate_step("storage", {"provider": team.provider, team.provider: values}, secrets)
    if errors:
        raise TeamBucketInvalid("; ".join(f"{OPTIONS.get(error.path[-1], error.label)}: {error.message}"
                                          for error in errors))
    return section


def credentials_used(team: TeamBucket, storage: Any) -> str:
    """Whose credentials the check uses (the server's), in words."""
    if getattr(storage, "provider", None) == team.provider:
        if team.provider == "s3" and storage.access_key_id and storage.secret_access_key is not None:
            return f"the server's access key {storage.access_key_id} (File storage step)"
        if team.provider == "gcs" and storage.credentials_file:
            return f"the server's service-account key {storage.credentials_file} (File storage step)"
    return ("this machine's instance role (the server has no S3 keys)" if team.provider == "s3"
            else "this machine's service account (the server has no key file)")


def outcome(team: TeamBucket, results: list[Any]) -> str:
    """What the report ends with: the exact form values once every check passes, else not to create the team."""
    from wizard.checks.engine import Status

    if any(result.status in (Status.FAIL, Status.ERROR) for result in results):
        return "Do not create the team with this bucket yet: a team's storage cannot be changed later."
    lines = ["In W&B's team creation form (Storage), enter exactly:"]
    lines += [f"  {label}: {value}" for label, value in team.form_values()]
    return "\n".join(lines)


def plan() -> list[Any]:
    """The File storage checks a team bucket gets (not the instance's event queue)."""
    from wizard.checks.engine import checks_for

    return [item for item in checks_for("storage") if item.id in SLOTS]


def context(team: TeamBucket, cfg: InstallConfig, timeout: float = 5.0,
            extra: Mapping[str, Any] | None = None) -> Any:
    """The checks' context: the instance's settings (its HOST for CORS) with the team's bucket as File storage."""
    from wizard.checks.engine import CheckContext
    from wizard.steps import CONFIG_STEPS

    sections = {step: getattr(cfg, step) for step in CONFIG_STEPS}
    sections["storage"] = team_section(team, cfg.storage)
    return CheckContext(sections, timeout=timeout, extra=dict(extra or {}))


def title(team: TeamBucket, cfg: InstallConfig) -> str:
    return f"Team bucket {team.bucket} ({team.provider.upper()}), checked with {credentials_used(team, cfg.storage)}"


async def check(team: TeamBucket, cfg: InstallConfig, timeout: float = 5.0,
                extra: Mapping[str, Any] | None = None) -> StepReport:
    from wizard.checks.engine import run_checks
    from wizard.report import StepReport

    results = [result async for result in run_checks(plan(), context(team, cfg, timeout, extra))]
    return StepReport("storage", results, title=title(team, cfg))
