"""From the install configuration to the launcher's spec (the one place that maps the two): the container's
inputs as `wizard.render.container_inputs` gives them, plus the server options."""

from __future__ import annotations

from wizard import render
from wizard.config import InstallConfig


ADOPTED_FLAG = "adopted"  # session flag: {"container": name, "id": container id}


def launch_spec(cfg: InstallConfig, session_name: str, adopted_id: str = ""):
    from wizard.launcher import LaunchSpec

    server = cfg.server
    inputs = render.container_inputs(cfg)
    return LaunchSpec(
        image=server.image,
        tag=server.tag,
        container_name=server.container_name,
        bind_address=server.bind_address,
        port=server.port,
        volume=server.volume,
        restart_policy=server.restart_policy,
        environment=inputs.environment(),
        secret_names=inputs.secret_names,
        session_name=session_name,
        host_url=cfg.host.url,
        mounts=inputs.mounts,
        extra_hosts=inputs.extra_hosts,
        adopted_id=adopted_id,
    )


def adopted_id(flags: dict) -> str:
    """The container `adopt` took over for this session ("" when none): the launcher may replace it."""
    adopted = flags.get(ADOPTED_FLAG) or {}
    return str(adopted.get("id") or "") if isinstance(adopted, dict) else ""
