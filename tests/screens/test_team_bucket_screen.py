"""Check a team's bucket, from the command palette, by keys alone, against the GCS emulator and moto."""

from __future__ import annotations

from screens.app import WizardApp
from tests.screens.conftest import SIZE, fixed_clock
from tests.screens.helpers import paste, ready, screen_text, tab_to, wait_for
from tests.services.gcs_emulator import gcs_emulator  # noqa: F401 (fixture)
from tests.services.moto_server import moto_server  # noqa: F401 (fixture)

HOST = "https://wandb.example.test"


def widget_text(app, selector: str) -> str:
    """The literal text of one widget of the dialog (the screen on top)."""
    return str(app.screen.query_one(selector).render())


async def _open(pilot) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    for key in "team bucket":
        await pilot.press("space" if key == " " else key)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "TeamBucketScreen", what="the dialog")


async def test_a_gcs_team_bucket_is_checked_and_the_form_values_shown(keyring, gcs_emulator):  # noqa: F811
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.flow.set_value("host", ("url",), HOST)
        app.flow.check_extra["gcs_endpoint"] = gcs_emulator.endpoint
        name = gcs_emulator.unique("team-files")
        bucket = gcs_emulator.client().create_bucket(name)
        bucket.cors = [{"origin": [HOST], "method": ["GET", "HEAD", "PUT"], "responseHeader": ["*"],
                        "maxAgeSeconds": 3000}]
        bucket.patch()
        await _open(pilot)
        await tab_to(pilot, "team-provider")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        await tab_to(pilot, "team-bucket")
        await paste(pilot, name)
        await pilot.press("enter")  # checks
        await wait_for(pilot, lambda: "enter exactly" in widget_text(app, "#team-form")
                       or "Do not create" in widget_text(app, "#team-form"), 30, what="the result")
        assert widget_text(app, "#team-form") == ("In W&B's team creation form (Storage), enter exactly:\n"
                                                  f"  Cloud provider: GCP\n  Bucket name: {name}")
        assert "checked with this machine's service account" in widget_text(app, "#team-said")
        assert "Team bucket" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: type(app.screen).__name__ != "TeamBucketScreen", what="closed")


async def test_an_s3_bucket_without_cors_offers_the_fix_and_an_incomplete_one_is_refused(keyring,  # noqa: F811
                                                                                        moto_server):  # noqa: F811
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.flow.set_value("host", ("url",), HOST)
        app.flow.set_provider("storage", "s3")
        for path, value in ((("s3", "bucket"), moto_server.unique("instance")), (("s3", "region"), "us-east-1"),
                            (("s3", "access_key_id"), moto_server.access_key_id),
                            (("s3", "secret_access_key"), moto_server.secret_access_key)):
            app.flow.set_value("storage", path, value)
        app.flow.check_extra["aws_endpoint_url"] = moto_server.endpoint
        team = moto_server.unique("team-files")
        moto_server.client("s3").create_bucket(Bucket=team)
        await _open(pilot)
        await tab_to(pilot, "team-bucket")
        await paste(pilot, team)
        await pilot.press("enter")  # no region: refused before any connection
        await wait_for(pilot, lambda: "--region is required" in widget_text(app, "#team-said"), what="the refusal")
        await tab_to(pilot, "team-region")
        await paste(pilot, "us-east-1")
        await pilot.press("enter")
        await wait_for(pilot, lambda: widget_text(app, "#team-form"), 30, what="the result")
        assert "Do not create the team with this bucket yet" in widget_text(app, "#team-form")
        assert f"checked with the server's access key {moto_server.access_key_id}" in widget_text(app, "#team-said")
        assert app.screen.query("#fix-storage-cors"), "the CORS fix is offered"
        assert moto_server.secret_access_key not in screen_text(app)
