package web

// MailLink is mailLink, for the tests.
var MailLink = mailLink
