import CFastCGI
import CMalloc
import HTTPTypes
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One FastCGI worker: accepts on a listening socket it shares with its siblings
/// and serves one request at a time until SIGTERM, SIGINT or SIGHUP, finishing
/// the request it accepted before it exits.
public struct FastCGIWorker {
    /// `body` is nil when the request's body exceeded `maxBodyBytes` (it is not read);
    /// `parameters` holds what the head does not (the client's address).
    public typealias Handler = (_ head: HTTPRequest, _ body: [UInt8]?, _ parameters: FastCGIParameters) -> (HTTPResponse, [UInt8])
    /// A handler that also says which route answered (an index of the
    /// scoreboard layout's route table; nil: `other`).
    public typealias RoutedHandler = (_ head: HTTPRequest, _ body: [UInt8]?, _ parameters: FastCGIParameters) -> (
        HTTPResponse, [UInt8], route: Int?
    )

    public var listenFD: Int32
    public var maxBodyBytes: Int
    public var logger: Logger
    /// Where the worker counts its requests and shows busy/idle, under a
    /// supervisor that serves metrics.
    public var slot: WorkerSlot?

    public init(listenFD: Int32 = 0, maxBodyBytes: Int, logger: Logger) {
        self.listenFD = listenFD
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
    }

    public func run(_ handler: Handler) {
        run(routed: { head, body, parameters in
            let (response, responseBody) = handler(head, body, parameters)
            return (response, responseBody, nil)
        })
    }

    public func run(routed handler: RoutedHandler) {
        var waitMask = ShutdownSignal.install()
        // A request allocates and frees a few copies of its body. By default glibc
        // hands the freed top of the heap back once it exceeds 128 KiB and faults
        // it in again on the next request (brk and page faults were 17 % of a
        // worker's CPU in the ingest benchmark). Keep up to 1 MiB; bodies from
        // 256 KiB up get pages of their own, returned when freed.
        mallopt(M_TRIM_THRESHOLD, 1 << 20)
        mallopt(M_MMAP_THRESHOLD, 256 << 10)
        // Every idle worker wakes for a new connection and one wins it: the others'
        // accept() must return EAGAIN rather than block with the stop signals
        // blocked. accept() does not pass O_NONBLOCK on to the connection.
        _ = fcntl(listenFD, F_SETFL, fcntl(listenFD, F_GETFL) | O_NONBLOCK)
        FCGX_Init()
        var request = FCGX_Request()
        FCGX_InitRequest(&request, listenFD, FCGI_FAIL_ACCEPT_ON_INTR)
        slot?.set(.idle)
        logger.info("worker ready", metadata: ["pid": "\(getpid())"])
        while !ShutdownSignal.isRequested {
            // The stop signals can interrupt only this wait. The timeout is a
            // safety net for a signal taken by another thread, which leaves this
            // wait running.
            let ready = agentlive_wait_readable(listenFD, 1000, &waitMask)
            // A wait that finds a connection at once returns without taking a
            // signal that came during the last request: it is still pending.
            if ShutdownSignal.isPending { break }
            guard ready == 1 else { continue }
            guard FCGX_Accept_r(&request) >= 0 else {
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { usleep(10_000) }
                continue
            }
            slot?.set(.busy)
            let started = ContinuousClock.now
            let (status, route) = serve(&request, handler)
            FCGX_Finish_r(&request)
            if let slot {
                slot.record(route: route ?? slot.layout.otherRoute, status: status, duration: .now - started)
                slot.set(.idle)
            }
        }
        logger.info("worker stopping", metadata: ["pid": "\(getpid())"])
    }

    /// Answers one request; returns its status and route.
    private func serve(_ request: inout FCGX_Request, _ handler: RoutedHandler) -> (status: Int, route: Int?) {
        let parameters = FastCGIParameters(request.envp)
        guard let head = parameters.httpRequest else {
            write(HTTPResponse(status: .badRequest), [], to: request.out)
            return (400, nil)
        }
        let length = parameters["CONTENT_LENGTH"].flatMap { Int($0) } ?? 0
        let body = length > maxBodyBytes ? nil : readBody(length, from: request.in)
        let (response, responseBody, route) = handler(head, body, parameters)
        write(response, responseBody, to: request.out)
        return (response.status.code, route)
    }

    private func readBody(_ length: Int, from stream: UnsafeMutablePointer<FCGX_Stream>?) -> [UInt8] {
        guard length > 0 else { return [] }
        var body = [UInt8](repeating: 0, count: length)
        var filled = 0
        while filled < length {
            let read = body.withUnsafeMutableBytes { buffer in
                FCGX_GetStr(
                    buffer.baseAddress!.advanced(by: filled).assumingMemoryBound(to: CChar.self),
                    Int32(length - filled), stream)
            }
            guard read > 0 else { break }
            filled += Int(read)
        }
        return Array(body.prefix(filled))
    }

    private func write(_ response: HTTPResponse, _ body: [UInt8], to stream: UnsafeMutablePointer<FCGX_Stream>?) {
        let head = FastCGIResponseHead(response, contentLength: body.count).bytes
        head.withUnsafeBufferPointer { put($0, stream) }
        body.withUnsafeBufferPointer { put($0, stream) }
    }

    private func put(_ bytes: UnsafeBufferPointer<UInt8>, _ stream: UnsafeMutablePointer<FCGX_Stream>?) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
            _ = FCGX_PutStr($0, Int32(bytes.count), stream)
        }
    }
}
