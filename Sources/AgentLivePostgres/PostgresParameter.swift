/// One parameter of a statement: NULL, text (PostgreSQL reads it with the type's
/// input function), or already in the type's binary form, which spares the server
/// the parsing: a batch of messages as text arrays was 8 % of PostgreSQL's CPU on
/// the ingest benchmark, most of it `array_in` reading 50 KB character by character.
public enum PostgresParameter: Sendable, Equatable {
    case null
    case text(String)
    case binary([UInt8])

    /// `.text`, or `.null` for nil.
    public init(_ text: String?) {
        self = text.map(Self.text) ?? .null
    }
}
