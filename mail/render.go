package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

// Message is one rendered email. It is the payload of a mail.requested
// event, so it carries everything delivery needs and nothing it must look
// up again.
type Message struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	// To is the recipient's bare address, lower-cased as users' addresses
	// are.
	To      string `json:"to"`
	Kind    Kind   `json:"kind"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	// Links are the links the message shows, in order.
	Links     []Link    `json:"links"`
	CreatedAt time.Time `json:"created_at"`
}

// Link is one link a message carries.
type Link struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

//go:embed templates
var templateFS embed.FS

// view is what the templates see.
type view struct {
	Platform string
	Subject  string
	Data     any
	Links    []Link
}

var funcs = map[string]any{
	"when": func(t time.Time) string { return t.UTC().Format("Monday 2 January 2006, 15:04 UTC") },
	"span": span,
}

// kindTemplates are one kind's parsed templates: the text set defines
// "subject" and "body", the HTML set "content", each with its layout.
type kindTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// templates holds every kind's templates, parsed once from the embedded
// files; a broken template fails the first test, not a delivery.
var templates = mustParseTemplates()

func mustParseTemplates() map[Kind]kindTemplates {
	out := map[Kind]kindTemplates{}
	for _, k := range Kinds {
		name := string(k)
		txt, err := texttemplate.New("layout.txt").Funcs(funcs).Option("missingkey=error").
			ParseFS(templateFS, "templates/layout.txt", "templates/"+name+".txt")
		if err != nil {
			panic(fmt.Sprintf("mail templates of %s: %v", k, err))
		}
		htm, err := htmltemplate.New("layout.html").Funcs(funcs).Option("missingkey=error").
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			panic(fmt.Sprintf("mail templates of %s: %v", k, err))
		}
		out[k] = kindTemplates{text: txt, html: htm}
	}
	return out
}

// Render writes a message of kind from data (the kind's own data type, or
// a pointer to it) for the platform named platform. The message has its
// kind, subject, text, HTML and links; its id, tenant, recipient and time
// are the sender's to set.
func Render(kind Kind, platform string, data any) (Message, error) {
	c, err := contentOf(kind, data)
	if err != nil {
		return Message{}, err
	}
	t := templates[kind]
	v := view{Platform: platform, Data: c, Links: c.links()}
	var subject, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subject, "subject", v); err != nil {
		return Message{}, fmt.Errorf("render the subject of %s: %w", kind, err)
	}
	// A subject is one header line: no line breaks, however the data
	// reads.
	v.Subject = strings.Join(strings.Fields(subject.String()), " ")
	if err := t.text.Execute(&text, v); err != nil {
		return Message{}, fmt.Errorf("render the text of %s: %w", kind, err)
	}
	if err := t.html.Execute(&html, v); err != nil {
		return Message{}, fmt.Errorf("render the HTML of %s: %w", kind, err)
	}
	links := v.Links
	if links == nil {
		links = []Link{}
	}
	return Message{Kind: kind, Subject: v.Subject, Text: text.String(), HTML: html.String(), Links: links}, nil
}
