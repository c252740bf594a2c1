package tools

import (
	"context"
	"fmt"
	"net/http"
	"regexp"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
)

// ToolSetSlackUser is the name of set_slack_user.
const ToolSetSlackUser = "set_slack_user"

// SlackUsers links users to their Slack ids; the store implements it.
type SlackUsers interface {
	SetSlackUserID(ctx context.Context, tenantID, userID, slackUserID string) (auth.User, error)
}

// SlackServices are what the Slack tools call.
type SlackServices struct {
	Users SlackUsers
}

// RegisterSlack registers the tools that tie the platform to a tenant's
// Slack workspace.
func RegisterSlack(r *Registry, s SlackServices) {
	registerToolset(r, ToolsetUsers, setSlackUser(s))
}

// slackUserID is the shape of a Slack user id: U or W, then letters and
// digits.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// SetSlackUserInput is the input of set_slack_user.
type SetSlackUserInput struct {
	Control
	TenantRef
	UserID      string `json:"user_id" jsonschema:"the user's id"`
	SlackUserID string `json:"slack_user_id" jsonschema:"the user's Slack member id (U…, from their Slack profile); empty to unlink"`
}

// Validate implements Validator.
func (in *SetSlackUserInput) Validate() error {
	if in.UserID == "" {
		return fault.Invalid("user_id", "name the user to link")
	}
	if in.SlackUserID != "" && !slackUserID.MatchString(in.SlackUserID) {
		return fault.Invalid("slack_user_id", "want a Slack member id such as U024BE7LH, got %q", in.SlackUserID)
	}
	return nil
}

// SlackLink is the output of set_slack_user.
type SlackLink struct {
	UserID      string `json:"user_id"`
	TenantID    string `json:"tenant_id"`
	Email       string `json:"email"`
	SlackUserID string `json:"slack_user_id,omitempty"`
}

func setSlackUser(s SlackServices) Def[SetSlackUserInput, SlackLink] {
	return Def[SetSlackUserInput, SlackLink]{
		Name: ToolSetSlackUser, Title: "Link a user to Slack", Group: ToolsetUsers, MinRole: actor.RolePodAdmin, Idempotent: true,
		Description: "Link a user of the tenant to their Slack member id, so what they click on the agent's decisions in the " +
			"tenant's Slack channel (approve, reject, override) is known as theirs; an empty slack_user_id unlinks them. A Slack " +
			"user not linked is matched by the email of their Slack profile instead. One Slack user links one user of a tenant.",
		Method: http.MethodPut, Path: "/users/{user_id}/slack",
		Preview: func(_ context.Context, c *Call, in *SetSlackUserInput) (Preview, error) {
			if in.SlackUserID == "" {
				return Preview{Effect: fmt.Sprintf("unlink user %s of tenant %s from Slack", in.UserID, c.Tenant.ID)}, nil
			}
			return Preview{Effect: fmt.Sprintf("link user %s of tenant %s to Slack user %s", in.UserID, c.Tenant.ID, in.SlackUserID)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *SetSlackUserInput) (SlackLink, error) {
			u, err := s.Users.SetSlackUserID(ctx, c.Tenant.ID, in.UserID, in.SlackUserID)
			if err != nil {
				return SlackLink{}, err
			}
			return SlackLink{UserID: u.ID, TenantID: u.TenantID, Email: u.Email, SlackUserID: in.SlackUserID}, nil
		},
	}
}
