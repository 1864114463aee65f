from screens.steps.base import StepView


class CacheStep(StepView):
    STEP = "cache"
    INTRO = "The cache. Embedded runs Redis inside the container."
    PROVIDER_HELP = "Cache (Enter opens the list)"
    NOTHING_TO_SET = {"embedded": "The container runs its own Redis: nothing to set."}
    HELP = ("External Redis 6 or 7 with at least 4 GB memory. TLS and a password are recommended; an ACL user "
            "needs a password.")

    def has_instructions(self) -> bool:
        return True
