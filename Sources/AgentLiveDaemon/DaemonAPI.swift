import AgentLiveWire
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

public enum DaemonAPIError: Error, Equatable, CustomStringConvertible {
    /// The network, a 5xx or a 429: the same request may be retried.
    case transient(String)
    /// 409 task_not_active: the task was cancelled or ended elsewhere.
    case taskNotActive
    /// Any other 4xx: retrying the same request cannot help.
    case rejected(status: Int, code: String, message: String)

    public var description: String {
        switch self {
        case .transient(let reason): "transient: \(reason)"
        case .taskNotActive: "task not active"
        case .rejected(let status, let code, let message): "\(status) \(code): \(message)"
        }
    }
}

/// The daemon side of the REST API.
public protocol DaemonAPI: Sendable {
    func register(_ payload: DaemonRegisterPayload) async throws(DaemonAPIError)
    func heartbeat(_ payload: HeartbeatPayload) async throws(DaemonAPIError) -> [String]
    func claim(_ request: ClaimRequest) async throws(DaemonAPIError) -> TaskDispatchPayload?
    func start(task: String) async throws(DaemonAPIError)
    func progress(task: String, _ payload: TaskProgressPayload) async throws(DaemonAPIError)
    func post(task: String, _ batch: TaskMessageBatch) async throws(DaemonAPIError) -> IngestResult
    func complete(task: String, _ payload: TaskCompletedPayload) async throws(DaemonAPIError)
    func fail(task: String, _ payload: TaskFailedPayload) async throws(DaemonAPIError)
}

/// The API over HTTP with AsyncHTTPClient.
public struct HTTPDaemonAPI: DaemonAPI {
    let server: String
    let token: String
    let client: HTTPClient
    var timeout: TimeAmount = .seconds(30)

    public init(server: String, token: String, client: HTTPClient = .shared) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.token = token
        self.client = client
    }

    public func register(_ payload: DaemonRegisterPayload) async throws(DaemonAPIError) {
        _ = try await send("/api/daemon/register", payload)
    }

    public func heartbeat(_ payload: HeartbeatPayload) async throws(DaemonAPIError) -> [String] {
        try decode(HeartbeatResponse.self, try await send("/api/daemon/heartbeat", payload)).cancelTaskIDs
    }

    public func claim(_ request: ClaimRequest) async throws(DaemonAPIError) -> TaskDispatchPayload? {
        let body = try await send("/api/daemon/tasks/claim", request)
        return body.readableBytes == 0 ? nil : try decode(TaskDispatchPayload.self, body)
    }

    public func start(task: String) async throws(DaemonAPIError) {
        _ = try await send("/api/daemon/tasks/\(task)/start", Optional<Int>.none)
    }

    public func progress(task: String, _ payload: TaskProgressPayload) async throws(DaemonAPIError) {
        _ = try await send("/api/daemon/tasks/\(task)/progress", payload)
    }

    public func post(task: String, _ batch: TaskMessageBatch) async throws(DaemonAPIError) -> IngestResult {
        try decode(IngestResult.self, try await send("/api/daemon/tasks/\(task)/messages", batch))
    }

    public func complete(task: String, _ payload: TaskCompletedPayload) async throws(DaemonAPIError) {
        _ = try await send("/api/daemon/tasks/\(task)/complete", payload)
    }

    public func fail(task: String, _ payload: TaskFailedPayload) async throws(DaemonAPIError) {
        _ = try await send("/api/daemon/tasks/\(task)/fail", payload)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// POSTs `body` (none when nil) and returns the response body of a 2xx.
    private func send(_ path: String, _ body: (some Encodable)?) async throws(DaemonAPIError) -> ByteBuffer {
        var request = HTTPClientRequest(url: server + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            guard let data = try? Self.encoder.encode(body) else { throw .rejected(status: 0, code: "encoding", message: "cannot encode") }
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
        }
        let status: UInt
        let responseBody: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: timeout)
            status = response.status.code
            responseBody = try await response.body.collect(upTo: 16 << 20)
        } catch {
            throw .transient(String(describing: error))
        }
        switch status {
        case 200..<300:
            return responseBody
        case 429, 500...:
            throw .transient("HTTP \(status)")
        default:
            let detail = try? JSONDecoder().decode(ErrorBody.self, from: Data(responseBody.readableBytesView))
            if status == 409, detail?.error.code == "task_not_active" { throw .taskNotActive }
            throw .rejected(status: Int(status), code: detail?.error.code ?? "http_\(status)", message: detail?.error.message ?? "")
        }
    }

    private func decode<Value: Decodable>(_ type: Value.Type, _ body: ByteBuffer) throws(DaemonAPIError) -> Value {
        guard let value = try? JSONDecoder().decode(type, from: Data(body.readableBytesView)) else {
            throw .transient("unexpected response body")
        }
        return value
    }
}

/// Retries a request while it fails transiently, with exponential backoff
/// (250 ms doubling to `maxDelay`), until it succeeds, fails for good, or the task
/// is cancelled. The server's idempotency makes repeating a request safe.
func withRetry<Value>(
    maxDelay: Duration = .seconds(5), onRetry: (DaemonAPIError) -> Void = { _ in },
    _ operation: () async throws(DaemonAPIError) -> Value
) async throws -> Value {
    var delay = Duration.milliseconds(250)
    while true {
        do {
            return try await operation()
        } catch {
            guard case .transient = error else { throw error }
            onRetry(error)
            try await Task.sleep(for: delay)
            delay = min(delay * 2, maxDelay)
        }
    }
}
