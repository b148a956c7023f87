import AgentLiveAPI

/// The environment variables agentlive-api reads, with their defaults, for --help
/// (lines under 80 columns, which ArgumentParser would wrap without indent).
enum EnvironmentHelp {
    static var text: String {
        let defaults = APIConfiguration()
        return """
            Environment (unset or invalid values keep the default):
              AGENTLIVE_DATABASE_URL         libpq connection string or postgresql://
                                             URI (default: empty: libpq's defaults and
                                             PGHOST, PGPORT, PGUSER, PGDATABASE, ...)
              AGENTLIVE_LOG_LEVEL            trace, debug, info, notice, warning, error
                                             or critical (default: info)
              AGENTLIVE_LOG_FORMAT           json: one JSON object a line (timestamp,
                                             level, label, message, metadata) for log
                                             shippers (default: text)
              AGENTLIVE_MAX_BODY_BYTES       largest request body (default: \(defaults.maxBodyBytes))
              AGENTLIVE_MAX_BATCH            most messages in a batch (default: \(defaults.maxBatch))
              AGENTLIVE_MAX_CONTENT_BYTES    largest text field: message content or
                                             output, description, comment
                                             (default: \(defaults.maxContentBytes))
              AGENTLIVE_MAX_INPUT_BYTES      largest tool_use input (default: \(defaults.maxInputBytes))
              AGENTLIVE_SESSION_TTL_SECONDS  sign-in session lifetime (default: \(defaults.sessionTTLSeconds))
              AGENTLIVE_PUBLIC_ORIGIN        the page's origin behind a TLS proxy, e.g.
                                             https://agentlive.example.com (default:
                                             the request's scheme and Host)
              AGENTLIVE_SUPERVISOR_PID       set by the supervisor for its workers
            """
    }
}
