package auth_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
)

// TestEachPasswordRuleIsNamedWhenBroken: a refusal names exactly the
// rules a password breaks.
func TestEachPasswordRuleIsNamedWhenBroken(t *testing.T) {
	const email, name = "ana.lopez@acme.test", "Ana Lopez"
	strict := auth.PasswordPolicy{MinScore: 3}
	cases := []struct {
		name     string
		policy   auth.PasswordPolicy
		password string
		want     []auth.PasswordRule
	}{
		{"a long passphrase of unrelated words passes", strict, "violet-kettle-orbit-7", nil},
		{"a short password breaks min_length", auth.PasswordPolicy{}, "kettle-7", []auth.PasswordRule{auth.RuleMinLength}},
		{"a password over the limit breaks max_length alone", strict, strings.Repeat("a1", 129), []auth.PasswordRule{auth.RuleMaxLength}},
		{"letters alone break mix", auth.PasswordPolicy{}, "violetkettleorbit", []auth.PasswordRule{auth.RuleMix}},
		{"digits alone break mix", auth.PasswordPolicy{}, "918273645546372", []auth.PasswordRule{auth.RuleMix}},
		{"the email address breaks not_email", auth.PasswordPolicy{}, "Ana.Lopez@Acme.test", []auth.PasswordRule{auth.RuleNotEmail}},
		{"a common password breaks common_password", auth.PasswordPolicy{}, "1qaz2wsx3edc", []auth.PasswordRule{auth.RuleCommon}},
		{"the common list ignores case", auth.PasswordPolicy{}, "QwErTy123456", []auth.PasswordRule{auth.RuleCommon}},
		{"a guessable password breaks min_score", strict, "aaaaaaaaaaaa1", []auth.PasswordRule{auth.RuleScore}},
		{"a password built on the user's own name breaks min_score", auth.PasswordPolicy{MinScore: 4}, "acme-ana-lopez", []auth.PasswordRule{auth.RuleScore}},
		{"a common password is also guessable", strict, "1qaz2wsx3edc", []auth.PasswordRule{auth.RuleCommon, auth.RuleScore}},
		{"min score 0 turns the estimate off", auth.PasswordPolicy{MinScore: 0}, "aaaaaaaaaaaa1", nil},
		{"several broken rules are all named", strict, "password", []auth.PasswordRule{auth.RuleMinLength, auth.RuleMix, auth.RuleCommon, auth.RuleScore}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []auth.PasswordRule
			for _, b := range c.policy.Broken(c.password, email, name) {
				got = append(got, b.Rule)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("broken rules = %v, want %v", got, c.want)
			}

			err := c.policy.Check(c.password, email, name)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.KindInvalid || len(fe.Problems) != len(c.want) {
				t.Fatalf("Check = %v, want one invalid-input problem per rule", err)
			}
			for i, p := range fe.Problems {
				if p.Field != "password" || !strings.HasPrefix(p.Message, string(c.want[i])+": ") {
					t.Fatalf("problem %d = %+v, want it to name %s", i, p, c.want[i])
				}
			}
		})
	}
}

// TestThePasswordScoreWeighsTheUsersOwnWords: a password made of the
// user's name and address is weaker for that user than for another.
func TestThePasswordScoreWeighsTheUsersOwnWords(t *testing.T) {
	p := auth.PasswordPolicy{MinScore: 4}
	if b := p.Broken("acme-ana-lopez", "ana.lopez@acme.test", "Ana Lopez"); len(b) != 1 || b[0].Rule != auth.RuleScore {
		t.Fatalf("for Ana: %v, want min_score", b)
	}
	if b := p.Broken("acme-ana-lopez", "bo@beta.test", "Bo"); len(b) != 0 {
		t.Fatalf("for Bo: %v, want nothing", b)
	}
}
