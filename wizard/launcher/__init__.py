"""The Docker launcher: preflight, image, run, watch, and the operations on an existing install.

No module here imports the Docker SDK at import time (it is imported inside the functions that use it), so the
wizard starts fast. Operations block: run them in a worker thread and consume the progress events.
"""

from wizard.launcher.after_ready import AfterReady, after_ready, next_steps
from wizard.launcher.credentials import TemporaryCredentials, find_credentials
from wizard.launcher.engine import connect
from wizard.launcher.errors import (
    ConfirmationMismatch,
    EnginePermissionDenied,
    EngineUnavailable,
    ImageLoadFailed,
    ImageNotFound,
    LauncherError,
    NameConflict,
    OperationFailed,
    PortInUse,
    RegistryUnreachable,
    VolumeNotWritable,
)
from wizard.launcher.events import (
    EventCallback,
    LaunchEvent,
    LayerProgress,
    LogLine,
    MarkerSeen,
    PullProgress,
    ReadyProbe,
    Step,
)
from wizard.launcher.existing import ContainerInfo, ExistingInstall, VolumeInfo, find_existing
from wizard.launcher.image import (
    ImageInfo,
    LoadResult,
    UpdateCheck,
    check_for_update,
    ensure_image,
    load_image_tarball,
    pull_image,
)
from wizard.launcher.operations import (
    DestroyResult,
    LaunchResult,
    Options,
    RecoveryResult,
    destroy,
    end_recovery,
    finish_pending,
    launch,
    reconfigure,
    recover_access,
    upgrade,
)
from wizard.launcher.plan import PlannedOperation, dry_run
from wizard.launcher.preflight import Minimums, preflight_report, run_preflight
from wizard.launcher.spec import (
    InvalidSpec,
    LaunchSpec,
    config_hash,
    labels,
    mask_value,
    masked_environment,
    secret_values,
)
from wizard.launcher.volume import chown_command, fix_bind_path
from wizard.launcher.watch import MARKERS, WatchResult
from wizard.text import MASK, redact

__all__ = [name for name in dir() if not name.startswith("_")]
