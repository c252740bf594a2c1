// Package web is the platform's web face: pages rendered on the server
// from html/template layouts and partials, with their stylesheet and
// scripts embedded in the binary (nothing is loaded from another origin).
// A page turns a person's request into tool calls, in process, as the
// visitor or the signed-in user, and renders what the tools answer; it
// holds no business rule.
package web
