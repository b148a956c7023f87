import HTTPTypes

/// Every endpoint of the REST API. The route table below is the single place that
/// maps methods and paths to them; `agentlive-api routes` prints it so a test can
/// hold the OpenAPI file to it.
public enum Endpoint: Sendable, CaseIterable {
    case health, signIn, signOut, me, agents
    case listIssues, createIssue, issue, assign, activeTask, activeTasks, timeline, createComment
    case task, cancelTask, retryTask, taskMessages
    case register, heartbeat, claim, start, progress, ingest, complete, fail, daemonTaskMessages
}

public struct Route: Sendable, CustomStringConvertible {
    public var method: HTTPRequest.Method
    public var pattern: String
    public var endpoint: Endpoint

    /// `nil` segments are parameters (`{id}`).
    fileprivate var segments: [Substring?] {
        pattern.split(separator: "/").map { $0.hasPrefix("{") ? nil : $0 }
    }

    public var description: String { "\(method.rawValue) \(pattern)" }
}

public enum Router {
    public static let routes: [Route] = [
        Route(method: .get, pattern: "/api/health", endpoint: .health),
        Route(method: .post, pattern: "/api/session", endpoint: .signIn),
        Route(method: .delete, pattern: "/api/session", endpoint: .signOut),
        Route(method: .get, pattern: "/api/me", endpoint: .me),
        Route(method: .get, pattern: "/api/agents", endpoint: .agents),
        Route(method: .get, pattern: "/api/issues", endpoint: .listIssues),
        Route(method: .post, pattern: "/api/issues", endpoint: .createIssue),
        Route(method: .get, pattern: "/api/issues/{id}", endpoint: .issue),
        Route(method: .post, pattern: "/api/issues/{id}/assign", endpoint: .assign),
        Route(method: .get, pattern: "/api/issues/{id}/active-task", endpoint: .activeTask),
        Route(method: .get, pattern: "/api/issues/{id}/active-tasks", endpoint: .activeTasks),
        Route(method: .get, pattern: "/api/issues/{id}/timeline", endpoint: .timeline),
        Route(method: .post, pattern: "/api/issues/{id}/comments", endpoint: .createComment),
        Route(method: .get, pattern: "/api/tasks/{id}", endpoint: .task),
        Route(method: .post, pattern: "/api/tasks/{id}/cancel", endpoint: .cancelTask),
        Route(method: .post, pattern: "/api/tasks/{id}/retry", endpoint: .retryTask),
        Route(method: .get, pattern: "/api/tasks/{id}/messages", endpoint: .taskMessages),
        Route(method: .post, pattern: "/api/daemon/register", endpoint: .register),
        Route(method: .post, pattern: "/api/daemon/heartbeat", endpoint: .heartbeat),
        Route(method: .post, pattern: "/api/daemon/tasks/claim", endpoint: .claim),
        Route(method: .post, pattern: "/api/daemon/tasks/{id}/start", endpoint: .start),
        Route(method: .post, pattern: "/api/daemon/tasks/{id}/progress", endpoint: .progress),
        Route(method: .post, pattern: "/api/daemon/tasks/{id}/messages", endpoint: .ingest),
        Route(method: .get, pattern: "/api/daemon/tasks/{id}/messages", endpoint: .daemonTaskMessages),
        Route(method: .post, pattern: "/api/daemon/tasks/{id}/complete", endpoint: .complete),
        Route(method: .post, pattern: "/api/daemon/tasks/{id}/fail", endpoint: .fail),
    ]

    /// An endpoint's index in `routes` (each endpoint has one route).
    public static func index(of endpoint: Endpoint) -> Int? {
        indexes[endpoint]
    }

    private static let indexes: [Endpoint: Int] = Dictionary(
        uniqueKeysWithValues: routes.enumerated().map { ($0.element.endpoint, $0.offset) })

    public struct Match: Equatable {
        public var endpoint: Endpoint
        /// The `{id}` segments, in order, percent-decoded.
        public var parameters: [String]
    }

    /// The endpoint for a method and path; 404 for an unknown path, 405 (with
    /// `Allow`) for a known path and another method.
    public static func match(method: HTTPRequest.Method, path: Substring) throws(APIError) -> Match {
        let segments = path.split(separator: "/")
        var allowed: [HTTPRequest.Method] = []
        for route in routes {
            guard let parameters = bind(route.segments, to: segments) else { continue }
            if route.method == method || (method == .head && route.method == .get) {
                return Match(endpoint: route.endpoint, parameters: parameters)
            }
            allowed.append(route.method)
        }
        guard !allowed.isEmpty else {
            throw APIError(.notFound, "not_found", "No such endpoint: \(path).")
        }
        var error = APIError(.methodNotAllowed, "method_not_allowed", "\(method.rawValue) is not allowed here.")
        error.headerFields[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
        throw error
    }

    private static func bind(_ pattern: [Substring?], to segments: [Substring]) -> [String]? {
        guard pattern.count == segments.count else { return nil }
        var parameters: [String] = []
        for (expected, actual) in zip(pattern, segments) {
            if let expected {
                guard expected == actual else { return nil }
            } else {
                parameters.append(percentDecoded(actual))
            }
        }
        return parameters
    }
}
