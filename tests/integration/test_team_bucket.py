"""`wandb-local-setup check-team-bucket`, run as an admin runs it, against moto (S3, KMS) and the GCS emulator.

A team's bucket is set once, at team creation: a good one passes and ends with the exact form values; a missing
bucket, a wrong region, no CORS, a KMS key that does not exist or is disabled each fail with the fix named.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.cli_runner import run_wizard
from tests.services.gcs_emulator import GcsEmulator, gcs_emulator  # noqa: F401 (fixture)
from tests.services.moto_server import MotoServer, moto_server  # noqa: F401 (fixture)

HOST = "https://wandb.example.test"
S3_RULE = {"AllowedOrigins": [HOST], "AllowedMethods": ["GET", "HEAD", "PUT"], "AllowedHeaders": ["*"],
           "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3000}
GCS_RULE = {"origin": [HOST], "method": ["GET", "HEAD", "PUT"], "responseHeader": ["*"], "maxAgeSeconds": 3000}


def _answers(tmp_path: Path, moto: MotoServer) -> Path:
    """The instance's own settings: its HOST and the S3 keys the server has (its File storage step)."""
    path = tmp_path / "answers.toml"
    path.write_text(textwrap.dedent(f"""
        [host]
        url = "{HOST}"
        [storage]
        provider = "s3"
        bucket = "{moto.unique('instance-files')}"
        region = "us-east-1"
        access_key_id = "{moto.access_key_id}"
        secret_access_key = "env:T_AWS_SECRET"
        """).lstrip())
    return path


def _check(tmp_path: Path, *args: str, moto: MotoServer | None = None, gcs: GcsEmulator | None = None):
    extra = []
    env = {}
    if moto is not None:
        extra = ["--answers", str(_answers(tmp_path, moto)), "--endpoint-url", moto.endpoint]
        env["T_AWS_SECRET"] = moto.secret_access_key
    if gcs is not None:
        answers = tmp_path / "gcs.toml"
        answers.write_text(f'[host]\nurl = "{HOST}"\n')
        extra = ["--answers", str(answers), "--gcs-endpoint", gcs.endpoint]
    result = run_wizard("check-team-bucket", *args, *extra, "--timeout", "5", state=tmp_path / "state",
                        home=tmp_path, passphrase=None, env_extra=env)
    if moto is not None:
        assert moto.secret_access_key not in result.stdout + result.stderr
    return result


def _results(stdout: str) -> dict[str, dict]:
    report = json.loads(stdout)
    return {r["id"]: r for step in report["steps"] for r in step["results"]}


def _bucket(moto: MotoServer, region: str = "us-east-1", cors: list | None = None) -> str:
    bucket = moto.unique("team-files")
    s3 = moto.client("s3", region)
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **config)
    if cors is not None:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": cors})
    return bucket


def test_a_good_s3_team_bucket_passes(tmp_path, moto_server):  # noqa: F811
    """Every check passes but the browser preflight, which moto cannot answer on a presigned URL (the check does not
    pass what it could not see; on AWS it passes with these CORS rules): the form values come once all pass, as
    the GCS test below shows."""
    bucket = _bucket(moto_server, cors=[S3_RULE])
    key = moto_server.client("kms").create_key(Description="team key")["KeyMetadata"]["Arn"]
    args = ["--provider", "s3", "--bucket", bucket, "--region", "us-east-1", "--kms-key", key]
    result = _check(tmp_path, *args, "--json", moto=moto_server)
    results = _results(result.stdout)
    assert {i: r["status"] for i, r in results.items() if r["status"] != "pass"} == {"storage.preflight": "fail"}
    assert {"storage.credentials", "storage.bucket", "storage.region", "storage.probe", "storage.cors",
            "storage.kms"} <= set(results)
    assert "can encrypt and decrypt with it" in results["storage.kms"]["message"]
    text = _check(tmp_path, *args, moto=moto_server).stdout
    assert f"Team bucket {bucket} (S3), checked with the server's access key {moto_server.access_key_id}" in text
    assert moto_server.client("s3").list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0  # the probe is gone


@pytest.mark.parametrize("case", ["missing bucket", "wrong region", "no CORS", "no such KMS key", "disabled KMS key"])
def test_each_mistake_fails_with_its_fix_named(tmp_path, moto_server, case):  # noqa: F811
    region, kms = "us-east-1", None
    if case == "missing bucket":
        bucket = moto_server.unique("no-such-bucket")
    elif case == "wrong region":
        bucket = _bucket(moto_server, region="eu-west-1", cors=[S3_RULE])
    elif case == "no CORS":
        bucket = _bucket(moto_server)
    else:
        bucket = _bucket(moto_server, cors=[S3_RULE])
        kms = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
        if case == "disabled KMS key":
            client = moto_server.client("kms")
            meta = client.create_key(Description="disabled")["KeyMetadata"]
            client.disable_key(KeyId=meta["KeyId"])
            kms = meta["Arn"]
    args = ["--provider", "s3", "--bucket", bucket, "--region", region] + (["--kms-key", kms] if kms else [])
    result = _check(tmp_path, *args, "--json", moto=moto_server)
    assert result.returncode == 8, result.stdout + result.stderr
    failed = {i: r for i, r in _results(result.stdout).items() if r["status"] in ("fail", "error")}
    said = " ".join(f"{r['message']} {r['hint']} {r['fix'] or ''}" for r in failed.values())
    expected = {"missing bucket": f"{bucket} does not exist", "wrong region": "eu-west-1",
                "no CORS": "has no CORS rules", "no such KMS key": "does not exist",
                "disabled KMS key": "Disabled, not Enabled"}[case]
    assert expected in said, failed
    assert all(r["hint"] or r["fix"] for r in failed.values()), failed  # each failure says how to fix it
    text = _check(tmp_path, *args, moto=moto_server).stdout
    assert "Do not create the team with this bucket yet" in text and "enter exactly" not in text


def test_the_cors_fix_is_applied_on_request_then_the_bucket_passes(tmp_path, moto_server):  # noqa: F811
    bucket = _bucket(moto_server)
    result = _check(tmp_path, "--provider", "s3", "--bucket", bucket, "--region", "us-east-1", "--fix", "--json",
                    moto=moto_server)
    assert "fixed: Add W&B's CORS rule for https://wandb.example.test" in result.stderr, result.stderr
    assert _results(result.stdout)["storage.cors"]["status"] == "pass"  # checked again after the fix
    rules = moto_server.client("s3").get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert any(HOST in rule["AllowedOrigins"] and "PUT" in rule["AllowedMethods"] for rule in rules)


def test_a_gcs_team_bucket(tmp_path, gcs_emulator):  # noqa: F811
    good = gcs_emulator.unique("team-files")
    bucket = gcs_emulator.client().create_bucket(good)
    bucket.cors = [GCS_RULE]
    bucket.patch()
    result = _check(tmp_path, "--provider", "gcs", "--bucket", good, gcs=gcs_emulator)
    assert result.returncode in (0, 7), result.stdout + result.stderr
    assert "checked with this machine's service account" in result.stdout
    assert result.stdout.rstrip().endswith("  Cloud provider: GCP\n" + f"  Bucket name: {good}")
    missing = _check(tmp_path, "--provider", "gcs", "--bucket", gcs_emulator.unique("none"), "--json",
                     gcs=gcs_emulator)
    assert missing.returncode == 8


def test_options_that_cannot_make_a_team_bucket_are_refused_before_any_connection(tmp_path):
    no_region = run_wizard("check-team-bucket", "--provider", "s3", "--bucket", "team-files", state=tmp_path / "s",
                           home=tmp_path, passphrase=None)
    assert no_region.returncode == 2 and "--region is required for an S3 bucket" in no_region.stderr
    bad = run_wizard("check-team-bucket", "--provider", "s3", "--bucket", "Team_Files!", "--region", "us-east-1",
                     state=tmp_path / "s", home=tmp_path, passphrase=None)
    assert bad.returncode == 2 and bad.stderr.startswith("wandb-local-setup: --bucket: "), bad.stderr
