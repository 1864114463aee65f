from screens.steps.base import StepView


class DatabaseStep(StepView):
    STEP = "database"
    INTRO = "The metadata database. Embedded runs MySQL inside the container."
    PROVIDER_HELP = "Database (Enter opens the list)"
    NOTHING_TO_SET = {"embedded": "The container runs its own MySQL, with its data in /vol: nothing to set."}
    HELP = ("External MySQL 8.0.28 or newer. The box below the fields holds the CREATE USER / CREATE DATABASE / "
            "GRANT statements for your user and database: Tab to it and press Enter or c to copy them (the copy "
            "holds the password you typed; the screen never shows it).\n\n"
            "W&B does not accept self-signed certificates for MySQL TLS.")

    def has_instructions(self) -> bool:
        return True
