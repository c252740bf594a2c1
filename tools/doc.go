// Package tools is the single place where an operation is defined. A tool
// has a name, a description written for a model and a person, typed input
// and output with JSON Schemas derived from them, MCP annotations, the least
// role allowed, whether it can spend money, a dry-run preview when it
// mutates, and a handler. The REST face, the MCP face and the agent call
// tools only through Registry.Call, which runs the same pipeline for all:
//
//	decode strictly → validate → target → policies → rate → budget
//	reservation → handler (or preview) → settle → audit
//
// tools must never import a face (api, mcp, agent, web).
package tools
