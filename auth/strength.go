package auth

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"

	"github.com/gpubroker/pod/fault"
)

// PasswordRule names one rule of password strength (R7.2). A refusal
// names every rule the password breaks, so a form can say what to change.
type PasswordRule string

// The rules, in the order they are checked.
const (
	// RuleMinLength: at least MinPasswordLength characters.
	RuleMinLength PasswordRule = "min_length"
	// RuleMaxLength: at most MaxPasswordLength bytes, which bounds the
	// work of hashing and estimating.
	RuleMaxLength PasswordRule = "max_length"
	// RuleMix: letters mixed with digits, spaces or symbols.
	RuleMix PasswordRule = "mix"
	// RuleNotEmail: not the account's own email address.
	RuleNotEmail PasswordRule = "not_email"
	// RuleCommon: not one of the 10,000 most common passwords.
	RuleCommon PasswordRule = "common_password"
	// RuleScore: a zxcvbn guessability score of at least the minimum
	// (the parameter auth.password_min_score).
	RuleScore PasswordRule = "min_score"
)

// Bounds of a password's length, and the default least zxcvbn score.
const (
	MinPasswordLength       = 12
	MaxPasswordLength       = 256
	DefaultPasswordMinScore = 3
	// scoredPrefix is how much of a password zxcvbn looks at: its work
	// grows quickly with length (a quarter second at 256 characters), and
	// a password that long is not short of guesses.
	scoredPrefix = 100
)

// PasswordPolicy says what a new password must be.
type PasswordPolicy struct {
	// MinScore is the least zxcvbn score accepted, 0 to 4: 3 means a
	// password takes around 10^8 guesses or more, past what an online
	// attack tries; 0 turns the estimate off.
	MinScore int
}

// BrokenRule is one rule a password breaks, and what to do about it.
type BrokenRule struct {
	Rule    PasswordRule
	Message string
}

// Broken lists the rules password breaks for the account of email and
// name, in the order of the constants. A password over the maximum length
// is judged on that rule alone.
func (p PasswordPolicy) Broken(password, email, name string) []BrokenRule {
	if len(password) > MaxPasswordLength {
		return []BrokenRule{{RuleMaxLength, fmt.Sprintf("must be at most %d bytes", MaxPasswordLength)}}
	}
	var out []BrokenRule
	if utf8.RuneCountInString(password) < MinPasswordLength {
		out = append(out, BrokenRule{RuleMinLength, fmt.Sprintf("must be at least %d characters", MinPasswordLength)})
	}
	var letter, other bool
	for _, r := range password {
		if unicode.IsLetter(r) {
			letter = true
		} else {
			other = true
		}
	}
	if !letter || !other {
		out = append(out, BrokenRule{RuleMix, "must mix letters with digits, spaces or symbols"})
	}
	if email != "" && strings.EqualFold(strings.TrimSpace(password), email) {
		out = append(out, BrokenRule{RuleNotEmail, "must not be the email address"})
	}
	if commonPasswords()[strings.ToLower(password)] {
		out = append(out, BrokenRule{RuleCommon, "is one of the 10,000 most common passwords; choose one nobody else uses"})
	}
	if p.MinScore > 0 {
		scored := password
		if len(scored) > scoredPrefix {
			scored = scored[:scoredPrefix]
		}
		if score := zxcvbn.PasswordStrength(scored, userInputs(email, name)).Score; score < p.MinScore {
			out = append(out, BrokenRule{RuleScore, fmt.Sprintf("is too easy to guess (strength %d of 4, want %d or more): "+
				"use a longer password, several unrelated words, and nothing about yourself", score, p.MinScore)})
		}
	}
	return out
}

// Check refuses a password that breaks a rule with one invalid-input
// error naming every broken rule (a 422 on the REST face).
func (p PasswordPolicy) Check(password, email, name string) error {
	broken := p.Broken(password, email, name)
	problems := make([]fault.Problem, len(broken))
	for i, b := range broken {
		problems[i] = fault.Problem{Field: "password", Message: string(b.Rule) + ": " + b.Message}
	}
	return fault.InvalidAll("the password is too weak", problems)
}

// userInputs are the words of the account that a password must not lean
// on: the address, its parts, and the name's words.
func userInputs(email, name string) []string {
	var in []string
	if email != "" {
		in = append(in, email)
		local, domain, _ := strings.Cut(email, "@")
		in = append(in, strings.FieldsFunc(local, notAlnum)...)
		in = append(in, strings.FieldsFunc(domain, notAlnum)...)
	}
	in = append(in, strings.FieldsFunc(strings.ToLower(name), notAlnum)...)
	return in
}

func notAlnum(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

//go:embed data/common_passwords.txt
var commonPasswordList string

// commonPasswords is the embedded list as a set of lower-cased entries,
// built on first use.
var commonPasswords = sync.OnceValue(func() map[string]bool {
	set := make(map[string]bool, 10_000)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordList))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			set[strings.ToLower(w)] = true
		}
	}
	return set
})
