// The daemon's users (the executable, the tests) see the agent-output types
// (events, parsers, Redactor) as part of the daemon's API.
@_exported import AgentLiveOutput
