from screens.steps.base import StepView


class SSOStep(StepView):
    STEP = "sso"
    INTRO = "Sign-in through your identity provider (OpenID Connect). None keeps W&B's own accounts."
    PROVIDER_HELP = "Identity provider (Enter opens the list)"
    NOTHING_TO_SET = {"none": "Users sign in with W&B accounts; the first one to sign up becomes the admin."}
    HELP = ("Choose the identity provider, then fill in its fields.\n\n"
            "Cognito: the user pool ID (us-east-1_AbC123xyz), not the Cognito domain; the auth method is pkce.\n"
            "Okta: the org URL (https://your-org.okta.com) or a custom authorization server (…/oauth2/default).\n"
            "Other: any issuer whose discovery document is at <issuer>/.well-known/openid-configuration.\n\n"
            "The boxes below the fields hold the callback and logout URLs to register in the identity provider: "
            "Tab to one and press Enter or c to copy it.\n\n"
            "Locked out later? Restart with Restore mode (Server options) to get temporary admin credentials.")

    def has_instructions(self) -> bool:
        return True
