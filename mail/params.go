package mail

import (
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
)

// Params declares how mail leaves the platform. Every one is platform-wide
// (a tenant cannot point the platform's mail at a server of its choosing)
// but may differ by mode: email.sender set to ses for LIVE alone keeps
// SANDBOX mail in the mailbox. email.from is the platform's own parameter.
func Params() []params.Spec {
	return []params.Spec{
		{Key: "email.sender", Type: params.TypeEnum, Enum: []string{SenderMailbox, SenderSES, SenderSMTP}, Default: SenderMailbox,
			Affects: params.AffectsBoth, GlobalOnly: true, Group: "email",
			Description: "Who delivers email: mailbox keeps every message in the database and sends nothing (SANDBOX tenants read it with list_mail), " +
				"ses sends through Amazon SES, smtp through the server email.smtp.host names."},
		{Key: "email.ses.region", Type: params.TypeString, Affects: params.AffectsBoth, GlobalOnly: true, Group: "email",
			Description: "AWS region of Amazon SES when email.sender is ses; empty means the platform's AWS_REGION.",
			Rules:       []params.Rule{params.Matches("must be an AWS region such as eu-west-1", `^([a-z]{2}(-[a-z]+)+-[0-9])?$`)}},
		{Key: "email.ses.configuration_set", Type: params.TypeString, Affects: params.AffectsBoth, GlobalOnly: true, Group: "email",
			Description: "SES configuration set every message is sent with (optional).",
			Rules:       []params.Rule{params.Matches("must be letters, digits, dashes or underscores", `^[A-Za-z0-9_-]{0,64}$`)}},
		{Key: "email.smtp.host", Type: params.TypeString, Affects: params.AffectsBoth, GlobalOnly: true, Group: "email",
			Description: "SMTP server when email.sender is smtp; STARTTLS is used whenever it offers it.",
			Rules:       []params.Rule{params.Matches("must be a host name or an IP address", `^[A-Za-z0-9.:-]{0,253}$`)}},
		{Key: "email.smtp.port", Type: params.TypeInt, Default: "587", Affects: params.AffectsBoth, GlobalOnly: true, Group: "email",
			Description: "Port of the SMTP server (587 for submission with STARTTLS).", Rules: []params.Rule{params.Range(1, 65535)}},
		{Key: "email.smtp.username", Type: params.TypeString, Affects: params.AffectsBoth, GlobalOnly: true, Group: "email",
			Description: "SMTP user for PLAIN authentication; empty sends without authenticating."},
		{Key: "email.smtp.password", Type: params.TypeSecret, Affects: params.AffectsBoth, GlobalOnly: true, Group: "email",
			Description: "Password of email.smtp.username."},
	}
}

// Settings are the parameters of one delivery.
type Settings struct {
	Sender              string
	From                string
	SESRegion           string
	SESConfigurationSet string
	SMTPHost            string
	SMTPPort            int
	SMTPUsername        string
	SMTPPassword        string
}

// SettingsFrom reads the settings a tenant's mail in mode m is delivered
// with.
func SettingsFrom(s *params.Snapshot, tenantID string, m mode.Mode) Settings {
	return Settings{
		Sender:              s.String(tenantID, m, "email.sender"),
		From:                s.String(tenantID, m, "email.from"),
		SESRegion:           s.String(tenantID, m, "email.ses.region"),
		SESConfigurationSet: s.String(tenantID, m, "email.ses.configuration_set"),
		SMTPHost:            s.String(tenantID, m, "email.smtp.host"),
		SMTPPort:            int(s.Int(tenantID, m, "email.smtp.port")),
		SMTPUsername:        s.String(tenantID, m, "email.smtp.username"),
		SMTPPassword:        s.String(tenantID, m, "email.smtp.password"),
	}
}
