package params

import (
	"fmt"
	"time"

	"github.com/gpubroker/pod/money"
)

// maxBudget bounds the monthly budget parameters.
const maxBudget = 10_000_000 * money.Dollar

// maxTokenPrice bounds the price of a million tokens of a language model.
const maxTokenPrice = 1_000 * money.Dollar

// modelName is what a model's name may be: a provider's model names and
// Bedrock's model ids use letters, digits and . _ : / @ -.
var modelName = Matches("must be letters, digits and . _ : / @ - (at most 200)", `^[A-Za-z0-9._:/@-]{0,200}$`)

// Platform declares the platform's own parameters. Other packages declare
// theirs beside their code (provider credentials in package providers) and
// the app joins them into one Catalog.
func Platform() []Spec {
	return []Spec{
		{Key: "platform.base_url", Type: TypeURL, Default: "http://127.0.0.1:8080", Affects: AffectsBoth, GlobalOnly: true,
			Description: "Public URL of the web UI and API; used in emails and links."},
		{Key: "platform.name", Type: TypeString, Default: "GPUBROKER POD", Affects: AffectsBoth,
			Description: "Display name shown in pages and emails.", Rules: []Rule{NotEmpty()}},
		{Key: "platform.support_email", Type: TypeString, Default: "support@gpubroker.local", Affects: AffectsBoth,
			Description: "Address users can write to.", Rules: []Rule{Matches("must be an email address", `^[^@\s]+@[^@\s]+$`)}},

		{Key: "auth.provider", Type: TypeEnum, Enum: []string{"builtin", "cognito"}, Default: "builtin", Affects: AffectsBoth,
			Description: "Who issues user tokens: the built-in identity service or AWS Cognito."},
		{Key: "auth.access_token_ttl", Type: TypeDuration, Default: "15m", Affects: AffectsBoth,
			Description: "Lifetime of an access token.", Rules: []Rule{DurationRange(time.Minute, 24*time.Hour)}},
		{Key: "auth.refresh_token_ttl", Type: TypeDuration, Default: "720h", Affects: AffectsBoth,
			Description: "Lifetime of a refresh token.", Rules: []Rule{DurationRange(time.Hour, 90*24*time.Hour)}},
		{Key: "auth.cognito.issuer", Type: TypeURL, Affects: AffectsBoth, GlobalOnly: true,
			Description: "Issuer of the Cognito user pool, https://cognito-idp.<region>.amazonaws.com/<pool id> (when auth.provider is cognito)."},
		{Key: "auth.cognito.jwks_url", Type: TypeURL, Affects: AffectsBoth, GlobalOnly: true,
			Description: "JWKS URL of the user pool; empty means <issuer>/.well-known/jwks.json."},
		{Key: "auth.cognito.client_id", Type: TypeString, Affects: AffectsBoth, GlobalOnly: true,
			Description: "Cognito app client id: the audience of id tokens and the client_id of access tokens."},
		{Key: "auth.cognito.client_secret", Type: TypeSecret, Affects: AffectsBoth, GlobalOnly: true,
			Description: "Secret of the Cognito app client, when it has one: registration then signs its calls with a SECRET_HASH."},
		{Key: "auth.cognito.groups", Type: TypeJSON, Default: "{}", Affects: AffectsBoth, GlobalOnly: true,
			Description: "Map of Cognito group to role, e.g. {\"admins\":\"pod_admin\"}; {} means the groups pod_admin, enterprise_user and pro_user map to those roles."},
		{Key: "auth.mfa_required_for_admins", Type: TypeBool, Default: "false", Affects: AffectsBoth,
			Description: "Require TOTP MFA for POD Admin logins."},
		{Key: "auth.login_max_failures", Type: TypeInt, Default: "10", Affects: AffectsBoth, GlobalOnly: true,
			Description: "Failed sign-ins an account may have within auth.login_lockout_window before further attempts are refused (a client address may have five times as many).",
			Rules:       []Rule{Range(1, 1000)}},
		{Key: "auth.login_lockout_window", Type: TypeDuration, Default: "15m", Affects: AffectsBoth, GlobalOnly: true,
			Description: "Window over which failed sign-ins are counted.", Rules: []Rule{DurationRange(time.Minute, 24*time.Hour)}},
		{Key: "auth.password_min_score", Type: TypeInt, Default: "3", Affects: AffectsBoth, GlobalOnly: true,
			Description: "Least zxcvbn strength score (0 to 4) a new password needs, beside its length, its mix of characters and the list of common passwords; 3 means around 10^8 guesses or more, 0 turns the estimate off.",
			Rules:       []Rule{Range(0, 4)}},
		{Key: "auth.email_verification_ttl", Type: TypeDuration, Default: "24h", Affects: AffectsBoth, GlobalOnly: true,
			Description: "How long the single-use link that confirms a new account's address works.",
			Rules:       []Rule{DurationRange(10*time.Minute, 30*24*time.Hour)}},
		{Key: "auth.oauth.google.client_id", Type: TypeString, Affects: AffectsBoth, GlobalOnly: true, Group: "oauth",
			Description: "Client id of this platform's OAuth app at Google; sign-in with Google is offered once it and the secret are set."},
		{Key: "auth.oauth.google.client_secret", Type: TypeSecret, Affects: AffectsBoth, GlobalOnly: true, Group: "oauth",
			Description: "Client secret of this platform's OAuth app at Google."},
		{Key: "auth.oauth.google.auth_url", Type: TypeURL, Affects: AffectsBoth, GlobalOnly: true, Group: "oauth",
			Description: "Override of Google's authorization endpoint; empty means Google's own."},
		{Key: "auth.oauth.google.token_url", Type: TypeURL, Affects: AffectsBoth, GlobalOnly: true, Group: "oauth",
			Description: "Override of Google's token endpoint; empty means Google's own."},
		{Key: "auth.oauth.google.userinfo_url", Type: TypeURL, Affects: AffectsBoth, GlobalOnly: true, Group: "oauth",
			Description: "Override of Google's OpenID userinfo endpoint; empty means Google's own."},
		{Key: "auth.oauth.github.client_id", Type: TypeString, Affects: AffectsBoth, GlobalOnly: true, Group: "oauth",
			Description: "Client id of this platform's OAuth app at GitHub; sign-in with GitHub is offered once it and the secret are set."},
		{Key: "auth.oauth.github.client_secret", Type: TypeSecret, Affects: AffectsBoth, GlobalOnly: true, Group: "oauth",
			Description: "Client secret of this platform's OAuth app at GitHub."},
		{Key: "auth.oauth.github.auth_url", Type: TypeURL, Affects: AffectsBoth, GlobalOnly: true, Group: "oauth",
			Description: "Override of GitHub's authorization endpoint; empty means GitHub's own."},
		{Key: "auth.oauth.github.token_url", Type: TypeURL, Affects: AffectsBoth, GlobalOnly: true, Group: "oauth",
			Description: "Override of GitHub's token endpoint; empty means GitHub's own."},
		{Key: "auth.oauth.github.api_url", Type: TypeURL, Affects: AffectsBoth, GlobalOnly: true, Group: "oauth",
			Description: "Override of GitHub's REST API root (for /user and /user/emails); empty means GitHub's own."},

		{Key: "stripe.secret_key", Type: TypeSecret, Affects: AffectsBoth, Group: "stripe",
			Description: "Stripe secret API key: a test key (sk_test_) in SANDBOX, a live key in LIVE.",
			Rules:       []Rule{PrefixByMode([]string{"sk_test_", "rk_test_"}, []string{"sk_live_", "rk_live_"})}},
		{Key: "stripe.publishable_key", Type: TypeString, Affects: AffectsBoth, Group: "stripe",
			Description: "Stripe publishable key for Stripe Elements: pk_test_ in SANDBOX, pk_live_ in LIVE.",
			Rules:       []Rule{PrefixByMode([]string{"pk_test_"}, []string{"pk_live_"})}},
		{Key: "stripe.webhook_secret", Type: TypeSecret, Affects: AffectsBoth, Group: "stripe",
			Description: "Signing secret of the Stripe webhook endpoint.",
			Rules:       []Rule{Matches("must start with whsec_", `^whsec_`)}},
		{Key: "stripe.api_url", Type: TypeURL, Affects: AffectsBoth, Group: "stripe",
			Description: "Override of the Stripe API URL (stripe-mock in tests); empty means Stripe itself."},

		{Key: "billing.markup_percent", Type: TypeFloat, Default: "15", Affects: AffectsBoth,
			Description: "Markup on the provider's price of the pods of POD Admins (and the agent acting for them), who hold no plan, in percent; users pay their plan's markup (plans.*.markup_percent).", Rules: []Rule{Range(0, 500)}},
		{Key: "billing.storage_gib_month_usd", Type: TypeMoney, Default: "0.10", Affects: AffectsBoth,
			Description: "Price of a GiB of pod disk beyond the machine's own, per 30-day month, in USD.", Rules: []Rule{MoneyRange(0, maxBudget)}},
		{Key: "billing.currency", Type: TypeEnum, Enum: []string{"usd", "eur", "gbp"}, Default: "usd", Affects: AffectsBoth,
			Description: "Currency of invoices and prices shown."},
		{Key: "budget.monthly_limit_usd", Type: TypeMoney, Default: "1000", Affects: AffectsBoth,
			Description: "Most a tenant may spend on pods in a calendar month, in USD.", Rules: []Rule{MoneyRange(0, maxBudget)}},

		{Key: "budget.user_monthly_limit_usd", Type: TypeMoney, Default: "0", Affects: AffectsBoth,
			Description: "Most one user may spend on pods in a calendar month, in USD; 0 means no per-user limit.", Rules: []Rule{MoneyRange(0, maxBudget)}},

		{Key: "sandbox.provision_delay", Type: TypeDuration, Default: "0s", Affects: AffectsSandbox,
			Description: "How long simulated provisioning takes in SANDBOX (0s = instant).", Rules: []Rule{DurationRange(0, 10*time.Minute)}},
		{Key: "sandbox.failure_rate", Type: TypeFloat, Default: "0", Affects: AffectsSandbox,
			Description: "Share of simulated provisioning attempts that fail in SANDBOX, 0 to 1.", Rules: []Rule{Range(0, 1)}},

		{Key: "providers.price_cache_ttl", Type: TypeDuration, Default: "60s", Affects: AffectsBoth,
			Description: "How long provider prices are served from cache before a refresh.", Rules: []Rule{DurationRange(time.Second, time.Hour)}},
		{Key: "providers.request_timeout", Type: TypeDuration, Default: "10s", Affects: AffectsBoth,
			Description: "Timeout of one provider API call.", Rules: []Rule{DurationRange(100*time.Millisecond, 2*time.Minute)}},
		{Key: "providers.breaker_failures", Type: TypeInt, Default: "5", Affects: AffectsBoth,
			Description: "Consecutive failures that open a provider's circuit breaker.", Rules: []Rule{Range(1, 100)}},
		{Key: "providers.breaker_cooldown", Type: TypeDuration, Default: "30s", Affects: AffectsBoth,
			Description: "How long an open breaker waits before a probe.", Rules: []Rule{DurationRange(time.Second, time.Hour)}},

		{Key: "ratelimit.tool_calls_per_minute", Type: TypeInt, Default: "120", Affects: AffectsBoth,
			Description: "Tool calls one actor may make per minute, per tool.", Rules: []Rule{Range(1, 1_000_000)}},

		{Key: "approvals.ttl", Type: TypeDuration, Default: "24h", Affects: AffectsBoth,
			Description: "How long a call waiting for an admin's approval stays decidable before it expires.",
			Rules:       []Rule{DurationRange(time.Minute, 30*24*time.Hour)}},
		{Key: "approvals.spend_threshold_usd", Type: TypeMoney, Default: "0", Affects: AffectsBoth,
			Description: "A spending call of anyone but a POD Admin estimated above this many USD waits for an admin's approval; 0 means none does (the agent's spending calls always wait).",
			Rules:       []Rule{MoneyRange(0, maxBudget)}},

		{Key: "pods.deploy_reserve_hours", Type: TypeInt, Default: "24", Affects: AffectsBoth,
			Description: "Hours of a pod's price that deploying it reserves against the budget.", Rules: []Rule{Range(1, 720)}},
		{Key: "pods.price_tolerance_percent", Type: TypeFloat, Default: "5", Affects: AffectsBoth,
			Description: "How far a draft's price may have moved since it was quoted before deploy refuses and answers the new quote.", Rules: []Rule{Range(0, 100)}},
		{Key: "pods.provision_attempts", Type: TypeInt, Default: "3", Affects: AffectsBoth,
			Description: "Offers tried, best first, before a pod that cannot be started fails.", Rules: []Rule{Range(1, 10)}},
		{Key: "pods.boot_timeout", Type: TypeDuration, Default: "10m", Affects: AffectsBoth,
			Description: "How long a created machine may take to run before the next offer is tried.", Rules: []Rule{DurationRange(time.Second, time.Hour)}},
		{Key: "pods.activation_ttl", Type: TypeDuration, Default: "24h", Affects: AffectsBoth,
			Description: "How long the activation link emailed when a pod becomes ready stays valid.", Rules: []Rule{DurationRange(5*time.Minute, 30*24*time.Hour)}},
		{Key: "pods.idle_stop_after", Type: TypeDuration, Default: "2h", Affects: AffectsBoth,
			Description: "A running pod with no activity signal (heartbeat) for this long is stopped and its owner emailed; 0 means never.",
			Rules:       []Rule{DurationRange(0, 30*24*time.Hour)}},

		{Key: "events.topic_prefix", Type: TypeString, Default: "gpubroker.", Affects: AffectsBoth, GlobalOnly: true,
			Description: "Prefix of the Kafka topics events are published to: pod events go to <prefix>pod.",
			Rules:       []Rule{Matches("must be letters, digits, dots, dashes or underscores", `^[A-Za-z0-9._-]{0,200}$`)}},

		{Key: "events.outbox_retention", Type: TypeDuration, Default: "168h", Affects: AffectsBoth, GlobalOnly: true,
			Description: "How long published events stay in the outbox, for an operator to look back, before they are deleted; 0 keeps them.",
			Rules:       []Rule{DurationRange(0, 90*24*time.Hour)}},

		{Key: "email.from", Type: TypeString, Default: "GPUBROKER POD <no-reply@gpubroker.local>", Affects: AffectsBoth,
			Description: "Sender of every email.", Rules: []Rule{NotEmpty()}},

		{Key: "slack.enabled", Type: TypeBool, Default: "false", Affects: AffectsBoth,
			Description: "Post agent decisions to Slack for approval."},
		{Key: "slack.bot_token", Type: TypeSecret, Affects: AffectsBoth,
			Description: "Slack bot token (xoxb-).", Rules: []Rule{Matches("must start with xoxb-", `^xoxb-`)}},
		{Key: "slack.signing_secret", Type: TypeSecret, Affects: AffectsBoth,
			Description: "Slack signing secret for interactivity requests."},
		{Key: "slack.channel", Type: TypeString, Default: "#gpubroker-agent", Affects: AffectsBoth,
			Description: "Channel that receives agent decisions."},

		{Key: "agent.planner", Type: TypeEnum, Enum: []string{"builtin", "openai", "anthropic", "bedrock", "ollama"}, Default: "builtin", Affects: AffectsBoth,
			Description: "Model behind the procurement agent; builtin is the deterministic planner."},
		{Key: "agent.model", Type: TypeString, Affects: AffectsBoth,
			Description: "Name of the language model the planner asks (a Bedrock model id for bedrock); empty means the planner's default model.",
			Rules:       []Rule{modelName}},
		{Key: "agent.endpoint", Type: TypeURL, Affects: AffectsBoth,
			Description: "Base URL of the planner's API, as its client appends paths to (https://api.anthropic.com/v1, http://127.0.0.1:11434, a Bedrock runtime endpoint); empty means the provider's own."},
		{Key: "agent.api_key", Type: TypeSecret, Affects: AffectsBoth,
			Description: "API key of the planner: required for openai and anthropic; for bedrock <access key id>:<secret access key>, empty meaning the AWS default credentials; unused by ollama."},
		{Key: "agent.fallback_planner", Type: TypeEnum, Enum: []string{"none", "builtin", "openai", "anthropic", "bedrock", "ollama"}, Default: "none", Affects: AffectsBoth,
			Description: "Model asked when the planner's call fails; none means no fallback. It shares agent.endpoint and agent.api_key only when it is the same planner, so another provider must need no key (builtin, ollama on its default URL, bedrock with the AWS default credentials)."},
		{Key: "agent.fallback_model", Type: TypeString, Affects: AffectsBoth,
			Description: "Name of the fallback planner's model; empty means its default model.",
			Rules:       []Rule{modelName}},
		{Key: "agent.model_timeout", Type: TypeDuration, Default: "60s", Affects: AffectsBoth,
			Description: "Timeout of one call of the agent's language model.", Rules: []Rule{DurationRange(time.Second, 10*time.Minute)}},
		{Key: "agent.price_input_per_mtok_usd", Type: TypeMoney, Default: "0", Affects: AffectsBoth,
			Description: "Price of a million input tokens of the agent's language models, in USD, counted against the task's cost limit; builtin is free.",
			Rules:       []Rule{MoneyRange(0, maxTokenPrice)}},
		{Key: "agent.price_output_per_mtok_usd", Type: TypeMoney, Default: "0", Affects: AffectsBoth,
			Description: "Price of a million output tokens of the agent's language models, in USD, counted against the task's cost limit; builtin is free.",
			Rules:       []Rule{MoneyRange(0, maxTokenPrice)}},
		{Key: "agent.max_iterations", Type: TypeInt, Default: "25", Affects: AffectsBoth,
			Description: "Most loop iterations in one agent run.", Rules: []Rule{Range(1, 500)}},
		{Key: "agent.model_options", Type: TypeJSON, Default: "{}", Affects: AffectsBoth,
			Description: "Extra options of every language model call as a JSON object: temperature (0 to 2) and max_tokens (the most output tokens of a reply).",
			Rules:       []Rule{Matches("must be a JSON object", `^\s*\{`)}},
		{Key: ParamMCPServers, Type: TypeJSON, Default: "[]", Affects: AffectsBoth, Group: "agent",
			Description: "External MCP servers whose tools the agent may call, as a JSON list of {\"name\", \"url\"}: a name of lower-case " +
				"letters, digits and single underscores (the agent sees each tool as <name>__<tool>) and the server's Streamable HTTP endpoint. " +
				"The platform cannot know what an outside tool changes, so every call of one is treated as destructive: it waits for an admin " +
				"under agent.approval destructive or always. Tokens go in agent.mcp_headers, never here.",
			Rules: []Rule{parsedBy(fmt.Sprintf("must be a JSON list of at most %d {\"name\", \"url\"} with unique names and http(s) URLs", MaxMCPServers),
				ParseMCPServers)}},
		{Key: ParamMCPHeaders, Type: TypeSecret, Affects: AffectsBoth, Group: "agent",
			Description: "HTTP headers sent to the external MCP servers of agent.mcp_servers, sealed like every secret: a JSON object of server " +
				"name to {header: value}, e.g. {\"quota\": {\"Authorization\": \"Bearer …\"}}. Use https endpoints for servers that get a token.",
			Rules: []Rule{parsedBy("must be a JSON object of server name to {header: value}", ParseMCPHeaders)}},
	}
}
