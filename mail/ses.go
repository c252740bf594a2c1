package mail

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// SESAPI is the part of the Amazon SES v2 client that SES uses.
type SESAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// SES sends through Amazon SES (API v2) as a simple message: SES builds
// the MIME message from the subject, the text and the HTML.
type SES struct {
	Client SESAPI
	// From is the sender address, as email.from names it.
	From string
	// ConfigurationSet names the SES configuration set to send with
	// (optional).
	ConfigurationSet string
}

// Send implements Sender.
func (s SES) Send(ctx context.Context, m Message) error {
	utf8 := func(v string) *types.Content {
		return &types.Content{Data: aws.String(v), Charset: aws.String("UTF-8")}
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.From),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: utf8(m.Subject),
			Body:    &types.Body{Text: utf8(m.Text), Html: utf8(m.HTML)},
		}},
	}
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet)
	}
	if _, err := s.Client.SendEmail(ctx, in); err != nil {
		return fmt.Errorf("ses send email: %w", err)
	}
	return nil
}
